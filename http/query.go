package http

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/appwheel/appwheel"
)

// query reads a request's query parameters, refusing malformed queries,
// unknown or repeated parameters, so typos fail loudly.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, appwheel.Errorf(appwheel.EINVALID, "malformed query string")
	}
	for name, values := range q {
		known := false
		for _, a := range allowed {
			known = known || name == a
		}
		if !known {
			return nil, appwheel.Errorf(appwheel.EINVALID, "unknown query parameter %s", appwheel.Quote(name))
		}
		if len(values) > 1 {
			return nil, appwheel.Errorf(appwheel.EINVALID, "query parameter %s given more than once", appwheel.Quote(name))
		}
	}
	return q, nil
}

// queryBool reads an optional true/false parameter.
func queryBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, appwheel.Errorf(appwheel.EINVALID, "%s must be true or false", name)
	}
	return b, nil
}

// queryInt reads an optional integer parameter; 0 when absent.
func queryInt(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, appwheel.Errorf(appwheel.EINVALID, "%s must be an integer", name)
	}
	return n, nil
}
