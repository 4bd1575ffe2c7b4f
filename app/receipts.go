package app

import (
	"context"

	"parley/sync"
	"parley/ui"
)

// addReceipts fills in who has each of the user's own messages in ms (all
// of conversation; message narrows the read to one). A failed read leaves
// the labels empty: receipts are a hint, the messages are what matter.
func addReceipts(ctx context.Context, st *sync.Store, conversation, message string, ms []ui.Message) {
	own := false
	for _, m := range ms {
		own = own || m.Mine
	}
	if !own {
		return
	}
	heard, err := st.Heard(ctx, conversation, message)
	if err != nil {
		return
	}
	others := 0
	if c, err := st.Conversation(ctx, conversation); err == nil {
		others = max(len(c.Members)-1, 0)
	}
	for i := range ms {
		if !ms[i].Mine {
			continue
		}
		h := heard[ms[i].ID]
		ms[i].Receipts = ui.Receipts{Delivered: h.Delivered, Heard: h.Heard, Others: others}
	}
}
