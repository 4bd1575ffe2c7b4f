package sync

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// minIndexedQuery is the shortest query the trigram index answers; shorter
// ones (a two-character Chinese word) scan the text instead.
const minIndexedQuery = 3

// Search returns the text messages of every conversation whose text
// contains query (any case, any script), newest first, at most limit.
func (s *Store) Search(ctx context.Context, query string, limit int) ([]Message, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	me, err := getMeta(ctx, s.db, metaUserID)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", query, err)
	}
	var where, arg string
	if utf8.RuneCountInString(query) >= minIndexedQuery {
		// A phrase: the query's characters in order, quotes doubled.
		where, arg = `message_search MATCH ?`, `"`+strings.ReplaceAll(query, `"`, `""`)+`"`
	} else {
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		where, arg = `message_search.body LIKE ? ESCAPE '\'`, "%"+r.Replace(query)+"%"
	}
	ms, err := s.queryMessages(ctx, me, `SELECT `+messageColumns+messageFrom+`
		JOIN message_search ON message_search.rowid = m.local
		WHERE `+where+` AND m.kind = 'text' AND m.state NOT IN ('cancelled', 'failed')
		ORDER BY m.created DESC, m.local DESC LIMIT ?`, arg, limit)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", query, err)
	}
	return ms, nil
}
