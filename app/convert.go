package app

import (
	"strings"
	"time"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// voiceDuration is a voice message's length as far as known: the sender's
// final duration, or the packets so far while it is being recorded.
func voiceDuration(m sync.Message) time.Duration {
	return max(m.Duration, time.Duration(m.Packets)*wire.FrameDuration)
}

func toUIMessage(m sync.Message) ui.Message {
	out := ui.Message{
		ID:           m.ID,
		Conversation: m.Conversation,
		Seq:          m.Seq,
		Sender:       m.SenderName,
		Mine:         m.Mine,
		Kind:         ui.MessageVoice,
		Text:         m.Text,
		Sent:         m.Created,
		Position:     m.Position,
	}
	if m.Kind == wire.KindText {
		out.Kind = ui.MessageText
	}
	switch {
	case m.Pending:
		out.State = ui.StatePending
	case m.State == wire.StateRecording:
		out.State = ui.StateLive
	case m.State == wire.StateAbandoned || m.State == sync.StateFailed:
		out.State = ui.StateAbandoned
	default:
		out.State = ui.StateComplete
	}
	if out.Kind == ui.MessageVoice {
		out.Duration = voiceDuration(m)
		if len(m.Waveform) > 0 {
			out.Waveform = make([]float32, len(m.Waveform))
			for i, v := range m.Waveform {
				out.Waveform[i] = float32(v) / 255
			}
		}
	}
	// sync's Listened is the one definition of played to the end (voice)
	// or seen (text), the same the counts use.
	out.Listened = m.Listened
	return out
}

// convTitle is what the list shows for c: its title, or for a direct
// conversation the other member's name.
func convTitle(c sync.Conversation, me string) string {
	if c.Title != "" {
		return c.Title
	}
	var names []string
	for _, u := range c.Members {
		if !strings.EqualFold(u.Name, me) {
			names = append(names, u.Name)
		}
	}
	if len(names) == 0 {
		return me
	}
	return strings.Join(names, ", ")
}

func toUIConversation(c sync.Conversation, me string, talkingIDs []string) ui.Conversation {
	out := ui.Conversation{ID: c.ID, Title: convTitle(c, me), Kind: ui.KindGroup, Unplayed: c.Unplayed, Unread: c.Unread, Muted: c.Muted}
	switch {
	case c.Lobby:
		out.Kind = ui.KindLobby
	case c.Kind == wire.ConversationDirect:
		out.Kind = ui.KindDirect
	}
	for _, id := range talkingIDs {
		name := id
		for _, u := range c.Members {
			if u.ID == id {
				name = u.Name
			}
		}
		out.Talking = append(out.Talking, name)
	}
	return out
}
