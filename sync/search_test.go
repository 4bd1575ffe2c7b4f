package sync

import (
	"context"
	"testing"
	"time"

	"parley/server/wire"
)

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	bob := wire.User{ID: "u-b", Name: "bob"}
	convs := []wire.Conversation{
		{ID: "c1", Kind: wire.ConversationGroup, Title: "crew", Members: []wire.User{{ID: "u-me", Name: "me"}, bob}},
		{ID: "c2", Kind: wire.ConversationDirect, Members: []wire.User{{ID: "u-me", Name: "me"}, bob}},
	}
	texts := []struct{ conv, text string }{
		{"c1", "Truck is here, who can help unload?"},
		{"c2", "卡车到了，谁能帮忙卸货"},
		{"c1", "100% sure, the truck left"},
		{"c2", "lunch at noon"},
	}
	evs := []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &convs[0]}, {Cursor: 2, Kind: wire.EventConversation, Info: &convs[1]}}
	ids := map[string]string{}
	for i, x := range texts {
		m := wire.Message{ID: newMessageID(), Conversation: x.conv, Seq: int64(i + 1), Sender: bob, Kind: wire.KindText, State: wire.StateComplete, Text: x.text, Created: int64(1000 + i)}
		ids[x.text] = m.ID
		evs = append(evs, wire.Event{Cursor: int64(3 + i), Kind: wire.EventMessage, Message: &m})
	}
	voice := wire.Message{ID: newMessageID(), Conversation: "c1", Seq: 9, Sender: bob, Kind: wire.KindVoice, State: wire.StateComplete, Created: 2000}
	evs = append(evs, wire.Event{Cursor: 20, Kind: wire.EventMessage, Message: &voice})
	if _, err := s.applyEvents(ctx, evs, true, 20, ""); err != nil {
		t.Fatal(err)
	}
	// One of this device's own, still in the outbox.
	own, err := s.createText(ctx, "c1", "my truck is blue", time.UnixMilli(3000))
	if err != nil {
		t.Fatal(err)
	}
	ids["my truck is blue"] = own

	cases := []struct {
		query string
		want  []string // texts, newest first
	}{
		{"truck", []string{"my truck is blue", "100% sure, the truck left", "Truck is here, who can help unload?"}},
		{"TRUCK IS", []string{"my truck is blue", "Truck is here, who can help unload?"}},
		{"卸货", []string{"卡车到了，谁能帮忙卸货"}},
		{"帮忙卸", []string{"卡车到了，谁能帮忙卸货"}},
		{"%", []string{"100% sure, the truck left"}},
		{"no", []string{"lunch at noon"}},
		{`"quoted"`, nil},
		{"  ", nil},
		{"bicycle", nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got, err := s.Search(ctx, c.query, 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("Search(%q) = %d hits %+v, want %d", c.query, len(got), got, len(c.want))
			}
			for i, w := range c.want {
				if got[i].ID != ids[w] || got[i].Text != w {
					t.Errorf("hit %d = %q, want %q", i, got[i].Text, w)
				}
			}
		})
	}
	// A text withdrawn as failed no longer shows.
	if _, err := s.db.ExecContext(ctx, "UPDATE messages SET state = 'failed' WHERE id = ?", own); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Search(ctx, "blue", 10); len(got) != 0 {
		t.Errorf("failed message found: %+v", got)
	}
}
