package sandbox

import (
	"regexp"
	"slices"
	"strings"
	"time"
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

// searchClauseRE matches one clause at the start of what is left of a query.
var searchClauseRE = regexp.MustCompile(`^([a-z_]+|metadata\[(?:'([^']*)'|"([^"]*)")\]):(?:'([^']*)'|"([^"]*)")`)

// searchJoinRE matches what joins two clauses: AND or OR (in any case),
// or spaces alone, which mean AND.
var searchJoinRE = regexp.MustCompile(`^\s+(?:(?i:(and|or))\s+)?`)

// parseSearch parses the query parameter of a search of a resource whose
// searchable fields (besides metadata) are fields. Clauses are read whole,
// quotes and all, so a value may hold spaces and the words AND and OR.
func parseSearch(q string, fields []string) (*searchQuery, *apiError) {
	rest := strings.TrimSpace(q)
	sq := &searchQuery{}
	ops := map[bool]bool{}
	for {
		m := searchClauseRE.FindStringSubmatch(rest)
		c := searchClause{}
		if m != nil {
			c = searchClause{field: m[1], value: m[4] + m[5]}
			if strings.HasPrefix(c.field, "metadata[") {
				c.field, c.key = "metadata", m[2]+m[3]
			}
		}
		if m == nil || c.field != "metadata" && !slices.Contains(fields, c.field) {
			clause, _, _ := strings.Cut(rest, " ")
			return nil, invalid("query", "Unsupported search query: %q. The AppWheel sandbox understands clauses of the form metadata['key']:'value' or FIELD:'value' with FIELD one of %s, joined by spaces, AND or OR.",
				clause, oneOf(fields))
		}
		sq.clauses = append(sq.clauses, c)
		if rest = rest[len(m[0]):]; rest == "" {
			break
		}
		j := searchJoinRE.FindStringSubmatch(rest)
		if j == nil {
			return nil, invalid("query", "Invalid search query: clauses must be separated by spaces, AND or OR.")
		}
		sq.or = strings.EqualFold(j[1], "or")
		ops[sq.or] = true
		rest = rest[len(j[0]):]
	}
	if len(ops) > 1 {
		return nil, invalid("query", "Search queries cannot mix AND and OR.")
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
// (Config.SearchDelay emulates it for new objects): code that creates an
// object and then finds it by search, or finds-or-creates by search, works
// here and duplicates at Stripe.

// searchSees reports whether search finds an object created at created
// (Unix seconds, the account's clock) yet: not within the search delay.
func (t *tx) searchSees(created int64) bool {
	return !t.now.Before(time.Unix(created, 0).Add(t.s.cfg.SearchDelay))
}
