package api

import "strings"

// Route scopes: what an agent token may call.
type scope int

const (
	scopeAdmin scope = iota // API key only; agent tokens get 403
	scopeAgent              // agent tokens too, limited to their own resources
)

type route struct {
	method  string
	pattern string
	parts   []string
	scope   scope
	public  bool // no Api-Key (health, the hosted KYC page)
	upload  bool // reads a body up to Config.MaxUploadBytes, not MaxBodyBytes
	// uploadBytes, when set, is the route's own bound on its file (the
	// dispute evidence's 20 MB), in place of MaxUploadBytes.
	uploadBytes int
	h           func(*reqCtx) error
}

// router matches a method and a path against patterns like
// /v1/cards/{id}/details. Routes are few, so a linear scan over split
// segments is simpler than a tree and fast enough.
type router struct{ routes []*route }

func (r *router) add(method, pattern string, s scope, h func(*reqCtx) error) *route {
	rt := &route{method: method, pattern: pattern, parts: strings.Split(strings.Trim(pattern, "/"), "/"), scope: s, h: h}
	r.routes = append(r.routes, rt)
	return rt
}

// match returns the route and its params; allowed is true when the path
// matched some route under another method (405 rather than 404).
func (r *router) match(method, path string) (*route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	allowed := false
	for _, rt := range r.routes {
		params, ok := matchParts(rt.parts, segs)
		if !ok {
			continue
		}
		if rt.method != method {
			allowed = true
			continue
		}
		return rt, params, false
	}
	return nil, nil, allowed
}

func matchParts(parts, segs []string) (map[string]string, bool) {
	if len(parts) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// Route is one route the API serves, as Routes lists it.
type Route struct {
	Method string
	// Pattern is the path with {name} for each parameter.
	Pattern string
	// Public routes need no Api-Key.
	Public bool
	// AgentScope routes accept agent tokens as well as the API key.
	AgentScope bool
}

// Routes lists every route the API serves, in registration order: the
// OpenAPI document's tests compare it with the document, and tools can
// build on it.
func (a *API) Routes() []Route {
	out := make([]Route, 0, len(a.routes.routes))
	for _, rt := range a.routes.routes {
		out = append(out, Route{Method: rt.method, Pattern: rt.pattern, Public: rt.public, AgentScope: rt.scope == scopeAgent})
	}
	return out
}
