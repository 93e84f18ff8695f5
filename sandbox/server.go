package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// request is an API request as handlers see it, its parameters validated.
type request struct {
	hr     *http.Request
	p      params
	id     string // the {id} of the path
	expand []string
	// publishable is set when the request came with a pk_test_ key, which
	// only the routes marked publishable accept, and only with the object's
	// client_secret.
	publishable bool
}

// handler does the work of one endpoint under the state lock. It returns an
// object, a *listResult or any other JSON value to answer with, or an
// error. It must not do I/O.
type handler func(t *tx, r *request) (any, *apiError)

// route is one API endpoint.
type route struct {
	method, path string
	spec         *spec  // accepted parameters
	kind         string // object type answered, for expand; "" allows none
	list         bool   // the answer is a list of kind (expand paths start with data.)
	publishable  bool
	h            handler
}

// routes builds the sandbox's mux.
func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	var all []route
	for _, rs := range [][]route{
		customerRoutes(), paymentMethodRoutes(), setupIntentRoutes(), checkoutRoutes(),
		productRoutes(), priceRoutes(), subscriptionRoutes(), invoiceRoutes(), eventRoutes(), paymentIntentRoutes(),
	} {
		all = append(all, rs...)
	}
	for _, rt := range all {
		mux.Handle(rt.method+" "+rt.path, s.api(rt))
	}
	mux.Handle("/v1/", s.api(route{h: unrecognized}))
	mux.HandleFunc("GET /checkout/{id}", s.checkoutPage)
	mux.HandleFunc("POST /checkout/{id}", s.checkoutSubmit)
	mux.HandleFunc("GET /invoices/{id}", s.invoicePage)
	mux.HandleFunc("GET /invoices/{id}/pdf", s.invoicePDF)
	mux.HandleFunc("POST /_sandbox/advance", s.advanceHandler)
	mux.HandleFunc("GET /_sandbox/clock", s.clockHandler)
	mux.HandleFunc("GET /_sandbox/requests/{id}", s.requestLogHandler)
	mux.HandleFunc("GET /{$}", s.indexPage)
	return mux
}

// unrecognized answers a path or method the sandbox does not serve, in
// Stripe's words: a request Stripe would not understand either, or one of
// Stripe's endpoints the sandbox does not emulate.
func unrecognized(t *tx, r *request) (any, *apiError) {
	e := invalid("", "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/. (The AppWheel sandbox emulates only the endpoints AppWheel uses.)",
		r.hr.Method, r.hr.URL.Path)
	e.Status = http.StatusNotFound
	return nil, e
}

// api wraps a route: request id and version headers, authentication,
// parameter parsing and validation, idempotency, the handler under the
// state lock, rendering, and the answer.
func (s *Sandbox) api(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		reqID := "req_" + randomString(14)
		h := w.Header()
		h.Set("Request-Id", reqID)
		h.Set("Stripe-Version", APIVersion) // the version served, whatever was asked
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache, no-store")

		key, k, aerr := s.authenticate(hr)
		if aerr != nil {
			s.writeError(w, hr, reqID, aerr)
			return
		}
		if aerr := checkVersion(hr); aerr != nil {
			s.writeError(w, hr, reqID, aerr)
			return
		}
		switch {
		case k.kind == keyPublishable && !rt.publishable:
			s.writeError(w, hr, reqID, &apiError{Status: http.StatusUnauthorized, Type: errInvalidRequest,
				Message: "This API call cannot be made with a publishable API key. Please use a secret API key."})
			return
		case k.kind == keyRestricted && rt.path != "":
			if aerr := permitted(key, k.account, rt, hr.Method); aerr != nil {
				s.writeError(w, hr, reqID, aerr)
				return
			}
		}
		hash, publishable := k.account, k.kind == keyPublishable
		vals, aerr := readParams(hr)
		if aerr != nil {
			s.writeError(w, hr, reqID, aerr)
			return
		}
		idemKey := ""
		if hr.Method == http.MethodPost || hr.Method == http.MethodDelete {
			idemKey = strings.TrimSpace(hr.Header.Get("Idempotency-Key"))
			if idemKey != "" {
				h.Set("Idempotency-Key", idemKey)
			}
		}
		fingerprint := hr.Method + " " + hr.URL.Path + "?" + vals.Encode()

		var status int
		var body any
		err := s.run(hash, func(t *tx) {
			status, body, aerr = t.serve(rt, hr, vals, reqID, idemKey, fingerprint, publishable)
		})
		if err != nil {
			aerr = &apiError{Status: http.StatusInternalServerError, Type: errAPI,
				Message: "The AppWheel sandbox failed on this request; this is a bug of the sandbox, see its log."}
		}
		if aerr != nil {
			s.writeError(w, hr, reqID, aerr)
			return
		}
		if status == 0 { // a replay: body is the saved answer
			h.Set("Idempotent-Replayed", "true")
			rec := body.(*idemRecord)
			h.Set("Original-Request", rec.RequestID)
			w.WriteHeader(rec.Status)
			w.Write(rec.Body)
			return
		}
		w.WriteHeader(status)
		w.Write(body.([]byte))
	})
}

// serve runs the route on t. It answers (status, []byte) for a fresh
// answer, (0, *idemRecord) for a replayed one, or an error.
func (t *tx) serve(rt route, hr *http.Request, vals url.Values, reqID, idemKey, fingerprint string, publishable bool) (int, any, *apiError) {
	if len(idemKey) > 255 {
		return 0, nil, invalid("", "Idempotency-Key is too long: at most 255 characters.")
	}
	if idemKey != "" {
		t.pruneIdempotency()
		if rec := t.a.Idempotency[idemKey]; rec != nil {
			if rec.Fingerprint != fingerprint {
				return 0, nil, &apiError{Status: http.StatusBadRequest, Type: errIdempotency,
					Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + idemKey + "' if you meant to execute a different request."}
			}
			return 0, rec, nil
		}
	}

	r := &request{hr: hr, id: hr.PathValue("id"), publishable: publishable}
	if rt.spec != nil {
		tree, aerr := parseForm(vals)
		if aerr != nil {
			return 0, nil, aerr
		}
		if aerr := validate(tree, rt.spec, ""); aerr != nil {
			return 0, nil, aerr
		}
		r.p = params{tree}
		r.expand = r.p.strs("expand")
		if aerr := validateExpand(rt.kind, rt.list, r.expand); aerr != nil {
			return 0, nil, aerr
		}
	}

	t.req = eventRequest{ID: &reqID}
	if idemKey != "" {
		t.req.IdempotencyKey = &idemKey
	}
	v, aerr := rt.h(t, r)
	status, body := http.StatusOK, []byte(nil)
	if aerr == nil {
		body, aerr = t.render(v, r.expand)
	}
	if aerr != nil {
		aerr.RequestLogURL = t.s.cfg.BaseURL + "/_sandbox/requests/" + reqID
		status, body = aerr.Status, mustJSON(map[string]any{"error": aerr})
	}
	// Stripe saves the answer of a request that ran, declines included, but
	// not of one refused before it ran.
	if idemKey != "" && (status < 400 || status == http.StatusPaymentRequired) {
		t.a.Idempotency[idemKey] = &idemRecord{
			Fingerprint: fingerprint, Status: status, Body: body, RequestID: reqID, Created: t.unix(),
		}
		t.changed = true
	}
	if aerr != nil {
		return 0, nil, aerr
	}
	return status, body, nil
}

// checkVersion refuses a Stripe-Version the sandbox cannot answer. Stripe
// would serve any version it has; the sandbox emulates one, and answering
// a later version's or another train's request with this version's shapes
// would let code pass here that fails at Stripe.
func checkVersion(hr *http.Request) *apiError {
	v := hr.Header.Get("Stripe-Version")
	if v == "" || acceptedVersion(v) {
		return nil
	}
	return invalid("", "The AppWheel sandbox serves Stripe API version %s, and earlier versions of its release train, and this request asked for %q. Set your Stripe library's API version to %s (stripe-node 22.6 uses it by default; stripe-go v85's 2026-03-25.dahlia is answered the same), or leave the Stripe-Version header out.",
		APIVersion, v, APIVersion)
}

// writeError answers err in Stripe's error shape and logs it for
// request_log_url.
func (s *Sandbox) writeError(w http.ResponseWriter, hr *http.Request, reqID string, err *apiError) {
	err.RequestLogURL = s.cfg.BaseURL + "/_sandbox/requests/" + reqID
	body := mustJSON(map[string]any{"error": err})
	s.reqLog.add(requestLogEntry{ID: reqID, Method: hr.Method, Path: hr.URL.Path, Status: err.Status,
		Time: time.Now().UTC(), Response: body})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(err.Status)
	w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// authenticate reads the key as Stripe does: Bearer, or Basic with the key
// as the user name (what curl -u sk_test_…: sends), and accepts only a key
// the sandbox issued (Issue). It returns the key and what it stands for.
func (s *Sandbox) authenticate(hr *http.Request) (string, issuedKey, *apiError) {
	auth := hr.Header.Get("Authorization")
	var key string
	switch {
	case auth == "":
		return "", issuedKey{}, unauthorized("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
	case strings.HasPrefix(auth, "Bearer "):
		key = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	case strings.HasPrefix(auth, "Basic "):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(auth, "Basic ")))
		if err != nil {
			return "", issuedKey{}, unauthorized("Invalid API Key provided: the Basic authorization header is not valid base64.")
		}
		key, _, _ = strings.Cut(string(raw), ":")
	default:
		return "", issuedKey{}, unauthorized("Invalid API Key provided: use 'Authorization: Bearer sk_test_…'.")
	}
	// Stripe's answer to a key it does not know, whatever its form; the
	// sandbox adds where its keys come from.
	k, ok := s.issued(key)
	if !ok {
		return "", issuedKey{}, unauthorized("Invalid API Key provided: " + maskKey(key) + ". The AppWheel sandbox accepts only the keys it issued: appwheel dev writes them to dev.json.")
	}
	return key, k, nil
}

func unauthorized(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Type: errInvalidRequest, Message: msg}
}

// maskKey shows a key the way Stripe's errors do: its prefix and last four.
func maskKey(key string) string {
	if len(key) <= 12 {
		return "****"
	}
	return key[:8] + "****" + key[len(key)-4:]
}

// readParams returns the query parameters, plus for POST and DELETE the
// form-encoded body (stripe-go sends DELETE parameters in the query).
func readParams(hr *http.Request) (url.Values, *apiError) {
	vals, err := url.ParseQuery(hr.URL.RawQuery)
	if err != nil {
		return nil, invalid("", "Invalid query string: %v", err)
	}
	if hr.Method != http.MethodPost && hr.Method != http.MethodDelete {
		return vals, nil
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	if err != nil {
		return nil, invalid("", "Could not read the request body: %v", err)
	}
	bvals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid("", "Invalid request body: %v. Stripe expects application/x-www-form-urlencoded parameters.", err)
	}
	for k, v := range bvals {
		vals[k] = append(vals[k], v...)
	}
	return vals, nil
}
