package sandbox

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file parses Stripe's form encoding (nested keys such as
// invoice_settings[default_payment_method], metadata[k], items[0][price],
// expand[] and payment_method_types[0]) into a tree, and validates the tree
// against each endpoint's accepted parameters, so that the sandbox refuses
// what Stripe would refuse, with Stripe's error codes and messages.

// node is one parsed parameter: a leaf string, or a map of children (which
// an array spec reads as a list when its keys are indexes).
type node struct {
	leaf bool
	s    string
	kids map[string]*node
}

// parseForm builds the tree of vals. A key used both as a value and as a
// container (metadata=x&metadata[a]=b) is refused as Stripe refuses it.
func parseForm(vals url.Values) (*node, *apiError) {
	root := &node{kids: map[string]*node{}}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		segs := splitKey(k)
		for _, v := range vals[k] {
			if err := root.insert(segs, v, k); err != nil {
				return nil, err
			}
		}
	}
	return root, nil
}

// splitKey splits "items[0][price]" into items, 0, price. A key whose
// brackets do not balance is kept whole, and so is refused as unknown.
func splitKey(k string) []string {
	i := strings.IndexByte(k, '[')
	if i <= 0 {
		return []string{k}
	}
	segs := []string{k[:i]}
	rest := k[i:]
	for rest != "" {
		if rest[0] != '[' {
			return []string{k}
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return []string{k}
		}
		segs = append(segs, rest[1:j])
		rest = rest[j+1:]
	}
	return segs
}

func (n *node) insert(segs []string, v, key string) *apiError {
	cur := n
	for i, seg := range segs {
		if cur.leaf {
			return invalid(segs[0], "Invalid value for %s: it is given both as a value and as a hash or array", key)
		}
		if seg == "" { // key[]: append
			seg = strconv.Itoa(len(cur.kids))
		}
		last := i == len(segs)-1
		child := cur.kids[seg]
		if last {
			if child != nil && !child.leaf {
				return invalid(segs[0], "Invalid value for %s: it is given both as a value and as a hash or array", key)
			}
			cur.kids[seg] = &node{leaf: true, s: v}
			return nil
		}
		if child == nil {
			child = &node{kids: map[string]*node{}}
			cur.kids[seg] = child
		}
		cur = child
	}
	return nil
}

// kind is the type of a parameter.
type kind uint8

const (
	kString kind = iota
	kInt
	kBool
	kEnum
	kObject
	kArray
	kMetadata
	kRange // an integer, or a hash of gt, gte, lt and lte integers (created)
)

// spec describes one accepted parameter.
type spec struct {
	kind      kind
	enum      []string
	fields    map[string]*spec // kObject
	elem      *spec            // kArray
	required  bool
	clearable bool // "" is accepted: it unsets the field, as Stripe reads it
	maxLen    int  // strings; 0 = 5000
}

func str() *spec                   { return &spec{kind: kString} }
func integer() *spec               { return &spec{kind: kInt} }
func boolean() *spec               { return &spec{kind: kBool} }
func enum(vals ...string) *spec    { return &spec{kind: kEnum, enum: vals} }
func arr(elem *spec) *spec         { return &spec{kind: kArray, elem: elem} }
func metadataSpec() *spec          { return &spec{kind: kMetadata} }
func obj(f map[string]*spec) *spec { return &spec{kind: kObject, fields: f} }
func timeRange() *spec             { return &spec{kind: kRange} }

// req marks s required; clr marks it clearable with "".
func (s *spec) req() *spec { s.required = true; return s }
func (s *spec) clr() *spec { s.clearable = true; return s }

// endpoint returns the spec of an endpoint's parameters; every endpoint
// accepts expand.
func endpoint(f map[string]*spec) *spec {
	if f == nil {
		f = map[string]*spec{}
	}
	f["expand"] = arr(str())
	return obj(f)
}

// listEndpoint is endpoint plus the paging parameters of every list.
func listEndpoint(f map[string]*spec) *spec {
	if f == nil {
		f = map[string]*spec{}
	}
	f["limit"] = integer()
	f["starting_after"] = str()
	f["ending_before"] = str()
	return endpoint(f)
}

func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "[" + key + "]"
}

// validate checks n against s; path names n in errors the way Stripe does.
func validate(n *node, s *spec, path string) *apiError {
	if n.leaf && n.s == "" && s.kind != kMetadata {
		if s.clearable {
			return nil
		}
		return invalidCode("parameter_invalid_empty", path,
			"You passed an empty string for '%s'. We assume empty values are an attempt to unset a parameter; however '%s' cannot be unset. You should remove '%s' from your request or supply a non-empty value.",
			path, path, path)
	}
	switch s.kind {
	case kString, kInt, kBool, kEnum:
		if !n.leaf {
			return invalid(path, "Invalid %s: %s must be a string, not a hash or array", path, path)
		}
		return validateScalar(n.s, s, path)
	case kObject:
		if n.leaf {
			return invalid(path, "Invalid object")
		}
		keys := sortedKeys(n.kids)
		for _, k := range keys {
			fs, ok := s.fields[k]
			if !ok {
				return unknownParam(childPath(path, k))
			}
			if err := validate(n.kids[k], fs, childPath(path, k)); err != nil {
				return err
			}
		}
		for _, k := range sortedKeys(s.fields) {
			if s.fields[k].required && n.kids[k] == nil {
				return missingParam(childPath(path, k))
			}
		}
		return nil
	case kArray:
		if n.leaf {
			return invalid(path, "Invalid array")
		}
		for _, i := range indexes(n) {
			if i < 0 {
				return invalid(path, "Invalid array")
			}
		}
		for _, k := range sortedKeys(n.kids) {
			if err := validate(n.kids[k], s.elem, childPath(path, k)); err != nil {
				return err
			}
		}
		return nil
	case kRange:
		if n.leaf {
			return validateScalar(n.s, integer(), path)
		}
		return validate(n, obj(map[string]*spec{"gt": integer(), "gte": integer(), "lt": integer(), "lte": integer()}), path)
	case kMetadata:
		if n.leaf {
			if n.s != "" {
				return invalid(path, "Invalid object")
			}
			return nil
		}
		if len(n.kids) > 50 {
			return invalid(path, "Invalid metadata: metadata can have up to 50 keys, but you passed in %d keys.", len(n.kids))
		}
		for k, v := range n.kids {
			if !v.leaf {
				return invalid(childPath(path, k), "Invalid metadata: values must be strings")
			}
			if utf8.RuneCountInString(k) > 40 {
				return invalid(childPath(path, k), "Metadata keys can have up to 40 characters.")
			}
			if utf8.RuneCountInString(v.s) > 500 {
				return invalid(childPath(path, k), "Metadata values can have up to 500 characters.")
			}
		}
		return nil
	}
	return nil
}

func validateScalar(v string, s *spec, path string) *apiError {
	switch s.kind {
	case kString:
		max := s.maxLen
		if max == 0 {
			max = 5000
		}
		if utf8.RuneCountInString(v) > max {
			return invalid(path, "Invalid %s: must be at most %d characters", path, max)
		}
	case kInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return invalid(path, "Invalid integer: %s", v)
		}
	case kBool:
		if v != "true" && v != "false" {
			return invalid(path, "Invalid boolean: %s", v)
		}
	case kEnum:
		if !slices.Contains(s.enum, v) {
			return invalid(path, "Invalid %s: must be one of %s", path, oneOf(s.enum))
		}
	}
	return nil
}

// oneOf formats "a, b, or c" as Stripe's enum messages do.
func oneOf(vals []string) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return vals[0]
	case 2:
		return vals[0] + " or " + vals[1]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + ", or " + vals[len(vals)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ai, aerr := strconv.Atoi(a)
		bi, berr := strconv.Atoi(b)
		if aerr == nil && berr == nil {
			return ai - bi
		}
		return strings.Compare(a, b)
	})
	return keys
}

// indexes returns the array indexes of n's keys, -1 for a key that is not one.
func indexes(n *node) []int {
	out := make([]int, 0, len(n.kids))
	for k := range n.kids {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 {
			i = -1
		}
		out = append(out, i)
	}
	return out
}

// params reads a validated tree. Getters return zero values for what is
// absent; validation has already checked types.
type params struct{ n *node }

func (p params) get(path ...string) *node {
	n := p.n
	for _, k := range path {
		if n == nil || n.leaf {
			return nil
		}
		n = n.kids[k]
	}
	return n
}

// has reports whether the parameter was sent, even as "".
func (p params) has(path ...string) bool { return p.get(path...) != nil }

func (p params) str(path ...string) string {
	if n := p.get(path...); n != nil && n.leaf {
		return n.s
	}
	return ""
}

func (p params) int(path ...string) int64 {
	i, _ := strconv.ParseInt(p.str(path...), 10, 64)
	return i
}

func (p params) bool(path ...string) bool { return p.str(path...) == "true" }

// list returns the elements of an array parameter in index order.
func (p params) list(path ...string) []params {
	n := p.get(path...)
	if n == nil || n.leaf {
		return nil
	}
	out := make([]params, 0, len(n.kids))
	for _, k := range sortedKeys(n.kids) {
		out = append(out, params{n.kids[k]})
	}
	return out
}

// strs returns an array of strings.
func (p params) strs(path ...string) []string {
	var out []string
	for _, e := range p.list(path...) {
		if e.n.leaf {
			out = append(out, e.n.s)
		}
	}
	return out
}

// applyMetadata updates m with the metadata parameter at path, as Stripe
// does: metadata[k]=v sets, metadata[k]= unsets one key, metadata= unsets
// all. It returns m (allocated when nil).
func (p params) applyMetadata(m map[string]string, path ...string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	n := p.get(path...)
	if n == nil {
		return m
	}
	if n.leaf {
		return map[string]string{}
	}
	for k, v := range n.kids {
		if v.s == "" {
			delete(m, k)
		} else {
			m[k] = v.s
		}
	}
	return m
}
