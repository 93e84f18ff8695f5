package sandbox

import (
	"regexp"
	"slices"
	"strings"
)

// The search language the sandbox understands: clauses field:'value' (or
// "value"), with field one of the resource's fields or metadata['key'],
// joined by AND or by OR (Stripe allows no mixing). Stripe's ~, -, > and
// < operators are refused, naming what is understood.

// searchSpec is the parameters of every search endpoint.
var searchSpec = endpoint(map[string]*spec{"query": str().req(), "limit": integer(), "page": str()})

// searchQuery is a parsed search query.
type searchQuery struct {
	or      bool
	clauses []searchClause
}

type searchClause struct{ field, key, value string }

var searchClauseRE = regexp.MustCompile(`^([a-z_]+|metadata\[(?:'([^']*)'|"([^"]*)")\]):(?:'([^']*)'|"([^"]*)")$`)

// parseSearch parses the query parameter of a search of a resource whose
// searchable fields (besides metadata) are fields.
func parseSearch(q string, fields []string) (*searchQuery, *apiError) {
	q = strings.TrimSpace(q)
	sq := &searchQuery{}
	op := " AND "
	if strings.Contains(q, " OR ") {
		if strings.Contains(q, " AND ") {
			return nil, invalid("query", "Search queries cannot mix AND and OR.")
		}
		op, sq.or = " OR ", true
	}
	for _, part := range strings.Split(q, op) {
		m := searchClauseRE.FindStringSubmatch(strings.TrimSpace(part))
		c := searchClause{}
		if m != nil {
			c = searchClause{field: m[1], value: m[4] + m[5]}
			if strings.HasPrefix(c.field, "metadata[") {
				c.field, c.key = "metadata", m[2]+m[3]
			}
		}
		if m == nil || c.field != "metadata" && !slices.Contains(fields, c.field) {
			return nil, invalid("query", "Unsupported search query: %q. The AppWheel sandbox understands clauses of the form metadata['key']:'value' or FIELD:'value' with FIELD one of %s, joined by AND or by OR.",
				part, oneOf(fields))
		}
		sq.clauses = append(sq.clauses, c)
	}
	return sq, nil
}

// matches reports whether an object matches: value returns the object's
// value of a field (for metadata, of key), and false when it has none.
// Values compare case-insensitively, as Stripe's exact match does.
func (q *searchQuery) matches(value func(field, key string) (string, bool)) bool {
	for _, c := range q.clauses {
		v, ok := value(c.field, c.key)
		hit := ok && strings.EqualFold(v, c.value)
		if q.or && hit {
			return true
		}
		if !q.or && !hit {
			return false
		}
	}
	return !q.or
}

// Stripe's search reads an index that lags the objects by up to a minute
// (Config.SearchDelay emulates it): code that creates an object and then
// finds it by search, or finds-or-creates by search, works here and
// duplicates at Stripe.

// indexed records that o changed now, for the search delay. Called under
// the state lock.
func (t *tx) indexed(o object) {
	if t.s.cfg.SearchDelay > 0 {
		t.s.searchable[o.objectID()] = t.s.now().Add(t.s.cfg.SearchDelay)
	}
}

// searchSees reports whether search finds o yet: not while its last change
// is younger than the search delay.
func (t *tx) searchSees(o object) bool {
	at, ok := t.s.searchable[o.objectID()]
	return !ok || !t.s.now().Before(at)
}
