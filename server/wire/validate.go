package wire

import (
	"unicode/utf8"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ValidULID reports whether s is a canonical ULID: 26 upper-case Crockford
// base32 characters whose first is at most '7'.
func ValidULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isCrockford(s[i]) {
			return false
		}
	}
	return true
}

func isCrockford(c byte) bool {
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return true
		}
	}
	return false
}

func badf(format string, args ...any) *Error { return Errorf(CodeBadRequest, format, args...) }

func checkID(field, id string) *Error {
	if id == "" {
		return badf("%s is required", field)
	}
	if len(id) > MaxIDBytes || !utf8.ValidString(id) {
		return badf("%s is not a valid id", field)
	}
	return nil
}

func checkMessageID(id string) *Error {
	if !ValidULID(id) {
		return badf("message id %q is not a ULID", truncate(id))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func checkWaveform(w []uint8) *Error {
	if len(w) > MaxWaveformPoints {
		return Errorf(CodeTooLarge, "waveform of %d points exceeds %d", len(w), MaxWaveformPoints)
	}
	return nil
}

// Validate checks a Hello's fields for its mode.
func (h *Hello) Validate() error {
	if h.Protocol != ProtocolVersion {
		return Errorf(CodeProtocol, "protocol %d not supported, server speaks %d", h.Protocol, ProtocolVersion)
	}
	a := &h.Auth
	switch a.Mode {
	case AuthRegister, AuthLogin:
		if e := checkName("username", a.Username); e != nil {
			return e
		}
		if len(a.Password) > MaxPasswordBytes {
			return Errorf(CodeTooLarge, "password longer than %d bytes", MaxPasswordBytes)
		}
		if a.Password == "" {
			return badf("password is required")
		}
		if a.Mode == AuthRegister {
			if e := checkPassword(a.Username, a.Password); e != nil {
				return e
			}
		}
		if a.Device != "" {
			if e := checkName("device", a.Device); e != nil {
				return e
			}
		}
	case AuthToken:
		if a.Token == "" || len(a.Token) > 128 {
			return badf("token is required")
		}
	default:
		return badf("unknown auth mode %q", truncate(string(a.Mode)))
	}
	return nil
}

// Validate checks a VoiceStart.
func (v *VoiceStart) Validate() error {
	if e := checkID("conversation", v.Conversation); e != nil {
		return e
	}
	if e := checkMessageID(v.Message); e != nil {
		return e
	}
	if v.Codec != CodecOpus {
		return badf("codec %q not supported", truncate(v.Codec))
	}
	return nil
}

// Validate checks a VoiceEnd.
func (v *VoiceEnd) Validate() error {
	if e := checkMessageID(v.Message); e != nil {
		return e
	}
	if v.Packets > MaxMessagePackets {
		return Errorf(CodeTooLarge, "%d packets exceed %d", v.Packets, MaxMessagePackets)
	}
	if v.DurationMs < 0 || v.DurationMs > MaxMessageDuration.Milliseconds() {
		return badf("duration %d ms out of range", v.DurationMs)
	}
	if e := checkWaveform(v.Waveform); e != nil {
		return e
	}
	if v.Cancel {
		return nil
	}
	frameMs := FrameDuration.Milliseconds()
	if d := v.DurationMs - int64(v.Packets)*frameMs; d > frameMs || d < -frameMs {
		return Errorf(CodeMismatch, "duration %d ms does not match %d packets of %d ms", v.DurationMs, v.Packets, frameMs)
	}
	return nil
}

// Validate checks a TextSend.
func (t *TextSend) Validate() error {
	if e := checkID("conversation", t.Conversation); e != nil {
		return e
	}
	if e := checkMessageID(t.Message); e != nil {
		return e
	}
	if t.Text == "" {
		return badf("text is empty")
	}
	if len(t.Text) > MaxTextBytes {
		return Errorf(CodeTooLarge, "text of %d bytes exceeds %d", len(t.Text), MaxTextBytes)
	}
	return nilIfOK(checkText(t.Text))
}

// Validate checks a Sync.
func (s *Sync) Validate() error {
	if s.Since < 0 {
		return badf("since %d is negative", s.Since)
	}
	if s.Limit < 0 {
		return badf("limit %d is negative", s.Limit)
	}
	if s.Conversation != "" {
		if e := checkID("conversation", s.Conversation); e != nil {
			return e
		}
	}
	return nil
}

// Validate checks an AudioFetch.
func (a *AudioFetch) Validate() error {
	if e := checkMessageID(a.Message); e != nil {
		return e
	}
	if a.From > MaxMessagePackets {
		return badf("from %d beyond the longest message", a.From)
	}
	return nil
}

// Validate checks a ReceiptSend.
func (r *ReceiptSend) Validate() error {
	if e := checkMessageID(r.Message); e != nil {
		return e
	}
	switch r.Kind {
	case ReceiptDelivered, ReceiptListened:
	default:
		return badf("unknown receipt kind %q", truncate(string(r.Kind)))
	}
	if r.PositionMs < 0 || r.PositionMs > MaxMessageDuration.Milliseconds() {
		return badf("position %d ms out of range", r.PositionMs)
	}
	return nil
}

// Validate checks a ConversationCreate.
func (c *ConversationCreate) Validate() error {
	if len(c.Members) > MaxGroupMembers {
		return Errorf(CodeTooLarge, "%d members exceed %d", len(c.Members), MaxGroupMembers)
	}
	for _, m := range c.Members {
		if e := checkID("member", m); e != nil {
			return e
		}
	}
	switch c.Kind {
	case ConversationDirect:
		if len(c.Members) != 1 {
			return badf("a direct conversation names exactly one other member")
		}
	case ConversationGroup:
		if e := checkName("title", c.Title); e != nil {
			return e
		}
	default:
		return badf("unknown conversation kind %q", truncate(string(c.Kind)))
	}
	return nil
}

// Validate checks a ConversationRef.
func (c *ConversationRef) Validate() error { return nilIfOK(checkID("conversation", c.Conversation)) }

// Validate checks a Page.
func (p *Page) Validate() error {
	if p.From < 0 {
		return badf("from %d is negative", p.From)
	}
	return nil
}

// Validate checks a MemberList.
func (m *MemberList) Validate() error {
	if m.From < 0 {
		return badf("from %d is negative", m.From)
	}
	return nilIfOK(checkID("conversation", m.Conversation))
}

// Validate checks a ConversationAdd.
func (c *ConversationAdd) Validate() error {
	if e := checkID("conversation", c.Conversation); e != nil {
		return e
	}
	return nilIfOK(checkID("user", c.User))
}

// Validate checks a DeviceRevoke.
func (d *DeviceRevoke) Validate() error { return nilIfOK(checkID("device", d.Device)) }

// nilIfOK avoids returning a typed nil *Error as a non-nil error.
func nilIfOK(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}
