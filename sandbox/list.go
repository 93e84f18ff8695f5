package sandbox

import (
	"strconv"
	"strings"
)

// listResult is a page of a list, answered as Stripe's list object
// ({"object":"list","data":[…],"has_more":…,"url":…}) or, for searches, its
// search_result object.
type listResult struct {
	URL      string
	Data     []object
	HasMore  bool
	Search   bool
	NextPage *string // search only
}

// listView is the JSON of a listResult.
type listView struct {
	Object   string  `json:"object"`
	Data     []any   `json:"data"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page,omitempty"`
	URL      string  `json:"url"`
}

// limit reads the limit parameter: 10 when absent, 1 to 100.
func limit(p params) (int, *apiError) {
	if !p.has("limit") {
		return 10, nil
	}
	n := p.int("limit")
	if n < 1 || n > 100 {
		return 0, invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	return int(n), nil
}

// inRange reports whether v is in the range parameter at path (a kRange:
// an exact value, or bounds); true when the parameter is absent.
func (p params) inRange(v int64, path string) bool {
	n := p.get(path)
	switch {
	case n == nil:
		return true
	case n.leaf:
		return v == p.int(path)
	}
	r := params{n}
	return (!r.has("gt") || v > r.int("gt")) && (!r.has("gte") || v >= r.int("gte")) &&
		(!r.has("lt") || v < r.int("lt")) && (!r.has("lte") || v <= r.int("lte"))
}

// paginate returns the page of items (newest first) that the paging
// parameters select: limit, and starting_after or ending_before an object
// of the list. kind names the objects in the error for an unknown cursor.
func paginate[T object](items []T, p params, url, kind string) (*listResult, *apiError) {
	n, aerr := limit(p)
	if aerr != nil {
		return nil, aerr
	}
	after, before := p.str("starting_after"), p.str("ending_before")
	if after != "" && before != "" {
		return nil, invalid("ending_before", "You may only specify one of these parameters: ending_before, starting_after.")
	}
	index := func(id, param string) (int, *apiError) {
		for i, v := range items {
			if v.objectID() == id {
				return i, nil
			}
		}
		return 0, noSuchParam(kind, param, id)
	}
	var lo, hi int
	switch {
	case after != "":
		i, aerr := index(after, "starting_after")
		if aerr != nil {
			return nil, aerr
		}
		lo = i + 1
		hi = min(lo+n, len(items))
	case before != "":
		i, aerr := index(before, "ending_before")
		if aerr != nil {
			return nil, aerr
		}
		hi = i
		lo = max(0, hi-n)
	default:
		hi = min(n, len(items))
	}
	res := &listResult{URL: url}
	for _, v := range items[lo:hi] {
		res.Data = append(res.Data, v)
	}
	if before != "" {
		res.HasMore = lo > 0
	} else {
		res.HasMore = hi < len(items)
	}
	return res, nil
}

// searchPage returns the page of a search: page is the next_page token of
// the previous page ("" for the first).
func searchPage[T object](items []T, p params, url string) (*listResult, *apiError) {
	n, aerr := limit(p)
	if aerr != nil {
		return nil, aerr
	}
	lo := 0
	if page := p.str("page"); page != "" {
		off, err := strconv.Atoi(strings.TrimPrefix(page, "sbx_page_"))
		if err != nil || !strings.HasPrefix(page, "sbx_page_") || off < 0 {
			return nil, invalid("page", "Invalid page: use the next_page of a previous search result.")
		}
		lo = min(off, len(items))
	}
	hi := min(lo+n, len(items))
	res := &listResult{URL: url, Search: true, HasMore: hi < len(items)}
	for _, v := range items[lo:hi] {
		res.Data = append(res.Data, v)
	}
	if res.HasMore {
		next := "sbx_page_" + strconv.Itoa(hi)
		res.NextPage = &next
	}
	return res, nil
}
