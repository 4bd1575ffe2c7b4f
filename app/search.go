package app

import (
	"context"
	"fmt"

	"parley/ui"
)

// maxSearchHits bounds the results of one search.
const maxSearchHits = 200

// Search implements ui.Searcher over the local cache (sync's FTS5 index).
func (m *messenger) Search(query string) ([]ui.SearchHit, error) {
	acc := m.current()
	if acc == nil {
		return nil, nil
	}
	ctx := context.Background()
	st := acc.c.Store()
	ms, err := st.Search(ctx, query, maxSearchHits)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	convs, err := st.Conversations(ctx)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	titles := make(map[string]string, len(convs))
	for _, c := range convs {
		titles[c.ID] = c.Name
	}
	out := make([]ui.SearchHit, len(ms))
	for i, msg := range ms {
		out[i] = ui.SearchHit{Message: msg, ConversationTitle: titles[msg.Conversation]}
	}
	return out, nil
}
