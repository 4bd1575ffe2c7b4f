package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testULID = "01HZY8K4W9S3J6Q2T5V7X0B1CD"

func roundTrip[T any](t *testing.T, typ string, in T) {
	t.Helper()
	b, err := Marshal(typ, "r1", in)
	if err != nil {
		t.Fatalf("Marshal(%s): %v", typ, err)
	}
	env, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatalf("DecodeEnvelope(%s): %v", typ, err)
	}
	if env.Type != typ || env.ID != "r1" || env.Timestamp == 0 {
		t.Fatalf("envelope = %+v, want type %s id r1 and a timestamp", env, typ)
	}
	got, err := Decode[T](env)
	if err != nil {
		t.Fatalf("Decode(%s): %v", typ, err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip of %s:\n got %+v\nwant %+v", typ, got, in)
	}
}

func TestRoundTrip(t *testing.T) {
	msg := Message{ID: testULID, Conversation: "c1", Seq: 7, Sender: User{ID: "u1", Name: "ana"},
		Kind: KindVoice, Created: 1700000000000, State: StateRecording, Codec: CodecOpus,
		DurationMs: 3000, Packets: 150, Waveform: []uint8{0, 12, 255}}
	conv := Conversation{ID: "c1", Kind: ConversationGroup, Title: "Lobby", Lobby: true, Created: 5,
		Members: []User{{ID: "u1", Name: "ana"}, {ID: "u2", Name: "bo"}}}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"hello register", func(t *testing.T) {
			roundTrip(t, TypeHello, Hello{Protocol: ProtocolVersion, Auth: Auth{Mode: AuthRegister, Username: "ana", Password: "secret12", Device: "laptop"}})
		}},
		{"hello token", func(t *testing.T) {
			roundTrip(t, TypeHello, Hello{Protocol: ProtocolVersion, Auth: Auth{Mode: AuthToken, Token: "tok"}})
		}},
		{"welcome", func(t *testing.T) {
			roundTrip(t, TypeWelcome, Welcome{Protocol: 1, User: User{"u1", "ana"}, Device: Device{ID: "d1", Name: "laptop", Created: 3, Current: true}, Token: "t", ServerID: "s", ServerName: "home", Epoch: "e", Cursor: 9})
		}},
		{"error", func(t *testing.T) { roundTrip(t, TypeError, Error{Code: CodeNotMember, Message: "no", Ref: "r0"}) }},
		{"ok", func(t *testing.T) { roundTrip(t, TypeOK, OK{}) }},
		{"voice.start", func(t *testing.T) {
			roundTrip(t, TypeVoiceStart, VoiceStart{Conversation: "c1", Message: testULID, Codec: CodecOpus})
		}},
		{"voice.started", func(t *testing.T) {
			roundTrip(t, TypeVoiceStarted, VoiceStarted{Message: testULID, Stream: 3, Upto: 40, Seq: 2, State: StateRecording})
		}},
		{"voice.ack", func(t *testing.T) { roundTrip(t, TypeVoiceAck, VoiceAck{Message: testULID, Upto: 12, Complete: true}) }},
		{"voice.end", func(t *testing.T) {
			roundTrip(t, TypeVoiceEnd, VoiceEnd{Message: testULID, Packets: 150, DurationMs: 3000, Waveform: []uint8{1, 2, 3}})
		}},
		{"voice.live", func(t *testing.T) { roundTrip(t, TypeVoiceLive, VoiceLive{Message: msg, Stream: 4}) }},
		{"voice.done", func(t *testing.T) {
			roundTrip(t, TypeVoiceDone, VoiceDone{Message: testULID, Stream: 4, State: StateAbandoned, Packets: 20, DurationMs: 400, Waveform: []uint8{9}})
		}},
		{"text.send", func(t *testing.T) {
			roundTrip(t, TypeTextSend, TextSend{Conversation: "c1", Message: testULID, Text: "héllo 你好"})
		}},
		{"text.sent", func(t *testing.T) { roundTrip(t, TypeTextSent, TextSent{Message: msg}) }},
		{"sync", func(t *testing.T) { roundTrip(t, TypeSync, Sync{Since: 10, Limit: 50, Conversation: "c1"}) }},
		{"sync.page", func(t *testing.T) {
			r := Receipt{Message: testULID, Conversation: "c1", User: "u2", Device: "d2", Kind: ReceiptListened, PositionMs: 1200, At: 8}
			roundTrip(t, TypeSyncPage, SyncPage{Next: 12, More: true, Events: []Event{
				{Cursor: 10, Kind: EventMessage, Conversation: "c1", Message: &msg},
				{Cursor: 11, Kind: EventReceipt, Conversation: "c1", Receipt: &r},
				{Cursor: 12, Kind: EventConversation, Conversation: "c1", Info: &conv},
			}})
		}},
		{"audio.fetch", func(t *testing.T) { roundTrip(t, TypeAudioFetch, AudioFetch{Message: testULID, From: 5}) }},
		{"audio.stream", func(t *testing.T) {
			roundTrip(t, TypeAudioStream, AudioStream{Message: testULID, Stream: 9, From: 5, State: StateComplete, Packets: 150})
		}},
		{"receipt", func(t *testing.T) {
			roundTrip(t, TypeReceipt, ReceiptSend{Message: testULID, Kind: ReceiptListened, PositionMs: 900})
		}},
		{"presence", func(t *testing.T) {
			roundTrip(t, TypePresence, Presence{Users: []PresenceEntry{{User: "u1", State: PresenceTalking, Conversation: "c1"}, {User: "u2", State: PresenceOffline}}})
		}},
		{"conversation.create", func(t *testing.T) {
			roundTrip(t, TypeConversationCreate, ConversationCreate{Kind: ConversationGroup, Title: "team", Members: []string{"u2", "u3"}})
		}},
		{"conversation", func(t *testing.T) { roundTrip(t, TypeConversationInfo, ConversationInfo{Conversation: conv}) }},
		{"conversations", func(t *testing.T) {
			roundTrip(t, TypeConversations, Conversations{Conversations: []Conversation{conv}})
		}},
		{"conversation.members", func(t *testing.T) { roundTrip(t, TypeConversationMembers, MemberList{Conversation: "c1", From: 3}) }},
		{"members", func(t *testing.T) {
			roundTrip(t, TypeMembers, Members{Conversation: "c1", Members: conv.Members, Next: 2, More: true})
		}},
		{"conversation.add", func(t *testing.T) { roundTrip(t, TypeConversationAdd, ConversationAdd{Conversation: "c1", User: "u3"}) }},
		{"users", func(t *testing.T) { roundTrip(t, TypeUsers, Users{Users: conv.Members}) }},
		{"devices", func(t *testing.T) {
			roundTrip(t, TypeDevices, Devices{Devices: []Device{{ID: "d1", Name: "x", Created: 1}}})
		}},
		{"device.revoke", func(t *testing.T) { roundTrip(t, TypeDeviceRevoke, DeviceRevoke{Device: "d1"}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestDecodeRejects(t *testing.T) {
	long := strings.Repeat("x", MaxTextBytes+1)
	tests := []struct {
		name   string
		typ    string
		body   string
		decode func(Envelope) error
		want   Code
	}{
		{"protocol mismatch", TypeHello, `{"protocol":99,"auth":{"mode":"token","token":"t"}}`, dec[Hello], CodeProtocol},
		{"unknown auth mode", TypeHello, `{"protocol":1,"auth":{"mode":"magic"}}`, dec[Hello], CodeBadRequest},
		{"short password", TypeHello, `{"protocol":1,"auth":{"mode":"register","username":"a","password":"x"}}`, dec[Hello], CodeWeakPassword},
		{"control char name", TypeHello, `{"protocol":1,"auth":{"mode":"login","username":"a\u0007","password":"xxxxxxx"}}`, dec[Hello], CodeInvalidName},
		{"bidi override name", TypeHello, `{"protocol":1,"auth":{"mode":"register","username":"admin\u202egpj.exe","password":"long enough"}}`, dec[Hello], CodeInvalidName},
		{"C1 control in a device name", TypeHello, `{"protocol":1,"auth":{"mode":"register","username":"ana","password":"long enough","device":"x\u009b2J"}}`, dec[Hello], CodeInvalidName},
		{"password is the username", TypeHello, `{"protocol":1,"auth":{"mode":"register","username":"Ana Lopez","password":"ana lopez"}}`, dec[Hello], CodeWeakPassword},
		{"NUL in a text", TypeTextSend, `{"conversation":"c","message":"` + testULID + `","text":"a\u0000b"}`, dec[TextSend], CodeBadRequest},
		{"zero-width title", TypeConversationCreate, `{"kind":"group","title":"team\u200b","members":["a"]}`, dec[ConversationCreate], CodeInvalidName},
		{"long name", TypeHello, `{"protocol":1,"auth":{"mode":"login","username":"` + strings.Repeat("n", MaxNameBytes+1) + `","password":"xxxxxxx"}}`, dec[Hello], CodeTooLarge},
		{"payload wrong shape", TypeVoiceStart, `[1,2]`, dec[VoiceStart], CodeBadRequest},
		{"message id not ulid", TypeVoiceStart, `{"conversation":"c","message":"abc","codec":"opus"}`, dec[VoiceStart], CodeBadRequest},
		{"codec unknown", TypeVoiceStart, `{"conversation":"c","message":"` + testULID + `","codec":"mp3"}`, dec[VoiceStart], CodeBadRequest},
		{"absurd waveform", TypeVoiceEnd, `{"message":"` + testULID + `","packets":1,"waveform":"` + strings.Repeat("AAAA", 200) + `"}`, dec[VoiceEnd], CodeTooLarge},
		{"negative duration", TypeVoiceEnd, `{"message":"` + testULID + `","packets":1,"duration_ms":-5}`, dec[VoiceEnd], CodeBadRequest},
		{"too many packets", TypeVoiceEnd, `{"message":"` + testULID + `","packets":4000000000}`, dec[VoiceEnd], CodeTooLarge},
		{"text too long", TypeTextSend, `{"conversation":"c","message":"` + testULID + `","text":"` + long + `"}`, dec[TextSend], CodeTooLarge},
		{"text empty", TypeTextSend, `{"conversation":"c","message":"` + testULID + `","text":""}`, dec[TextSend], CodeBadRequest},
		{"negative since", TypeSync, `{"since":-1}`, dec[Sync], CodeBadRequest},
		{"huge seek", TypeAudioFetch, `{"message":"` + testULID + `","from":4000000000}`, dec[AudioFetch], CodeBadRequest},
		{"negative position", TypeReceipt, `{"message":"` + testULID + `","kind":"listened","position_ms":-1}`, dec[ReceiptSend], CodeBadRequest},
		{"receipt kind", TypeReceipt, `{"message":"` + testULID + `","kind":"liked"}`, dec[ReceiptSend], CodeBadRequest},
		{"direct with two", TypeConversationCreate, `{"kind":"direct","members":["a","b"]}`, dec[ConversationCreate], CodeBadRequest},
		{"group without title", TypeConversationCreate, `{"kind":"group","members":["a"]}`, dec[ConversationCreate], CodeInvalidName},
		{"missing conversation", TypeConversationLeave, `{}`, dec[ConversationRef], CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(`{"type":"` + tc.typ + `","id":"q","timestamp":1,"payload":` + tc.body + `}`)
			env, err := DecodeEnvelope(b)
			if err == nil {
				err = tc.decode(env)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error with code %s", err, tc.want)
			}
			if e.Code != tc.want {
				t.Errorf("code = %s (%s), want %s", e.Code, e.Message, tc.want)
			}
		})
	}
}

func dec[T any](env Envelope) error { _, err := Decode[T](env); return err }

func TestDecodeEnvelopeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Code
	}{
		{"not json", `{"type":`, CodeBadRequest},
		{"array", `[]`, CodeBadRequest},
		{"no type", `{"id":"1"}`, CodeBadRequest},
		{"long id", `{"type":"sync","id":"` + strings.Repeat("i", MaxIDBytes+1) + `"}`, CodeBadRequest},
		{"oversized", `{"type":"sync","payload":"` + strings.Repeat("x", MaxFrameBytes) + `"}`, CodeTooLarge},
		{"type wrong kind", `{"type":5}`, CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEnvelope([]byte(tc.in))
			if got := CodeOf(err); err == nil || got != tc.want {
				t.Errorf("DecodeEnvelope: err = %v, want code %s", err, tc.want)
			}
		})
	}
}

func TestCodeRetry(t *testing.T) {
	tests := []struct {
		code Code
		want bool
	}{
		{CodeRateLimited, true}, {CodeUnavailable, true}, {CodeInternal, true}, {CodeIncomplete, true},
		{CodeBadRequest, false}, {CodeAuthFailed, false}, {CodeNotMember, false}, {CodeTokenInvalid, false},
	}
	for _, tc := range tests {
		if got := tc.code.Retry(); got != tc.want {
			t.Errorf("%s.Retry() = %v, want %v", tc.code, got, tc.want)
		}
	}
	if CloseRetry(CloseRevoked) || !CloseRetry(CloseSlowConsumer) || !CloseRetry(CloseGoingAway) {
		t.Errorf("CloseRetry classifies revoked/slow/going-away wrongly")
	}
}

func TestValidULID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{testULID, true},
		{"01hzy8k4w9s3j6q2t5v7x0b1cd", false},
		{"81HZY8K4W9S3J6Q2T5V7X0B1CD", false},
		{"01HZY8K4W9S3J6Q2T5V7X0B1C", false},
		{"01HZY8K4W9S3J6Q2T5V7X0B1CU", false},
	}
	for _, tc := range tests {
		if got := ValidULID(tc.in); got != tc.want {
			t.Errorf("ValidULID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{"type":"hello","id":"1","timestamp":1,"payload":{"protocol":1,"auth":{"mode":"token","token":"x"}}}`,
		`{"type":"voice.start","payload":{"conversation":"c","message":"` + testULID + `","codec":"opus"}}`,
		`{"type":"voice.end","payload":{"message":"` + testULID + `","packets":3,"waveform":"AAEC"}}`,
		`{"type":"text.send","payload":{"conversation":"c","message":"` + testULID + `","text":"hi"}}`,
		`{"type":"sync","payload":{"since":3}}`,
		`{"type":"receipt","payload":null}`,
		`{}`, `[]`, `null`, `{"type":""}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if env.Type == "" {
			t.Fatalf("accepted envelope without type")
		}
		for _, decode := range []func(Envelope) error{dec[Hello], dec[VoiceStart], dec[VoiceEnd], dec[TextSend], dec[Sync], dec[AudioFetch], dec[ReceiptSend], dec[ConversationCreate], dec[ConversationAdd]} {
			if err := decode(env); err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("untyped payload error %v", err)
				}
			}
		}
	})
}
