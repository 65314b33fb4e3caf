package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
)

// Scope is the set of schools a caller may see: every school (All), the
// schools of one district, or one school. District and School narrow the
// scope and may be combined; when either is set, All is ignored. The zero
// Scope allows nothing, so a request that never passed the scope middleware
// sees no school.
type Scope struct {
	// All allows every school of the registry (a province-wide caller).
	All bool
	// District allows only the schools whose district is this one, e.g. "南湖区".
	District string
	// School allows only the school with this id, e.g. "JX-NH-0001".
	School string
	// Any, when not empty, allows the schools that any of its scopes
	// allows, and the fields above are ignored: a token with several
	// grants (district:南湖区,school:JX-XZ-0001).
	Any []Scope
}

// ScopeAll allows every school.
var ScopeAll = Scope{All: true}

// Allows reports whether a caller with scope s may see school.
func (s Scope) Allows(school *engine.School) bool {
	if school == nil {
		return false
	}
	if len(s.Any) > 0 {
		for _, a := range s.Any {
			if a.Allows(school) {
				return true
			}
		}
		return false
	}
	if s.District == "" && s.School == "" {
		return s.All
	}
	return (s.District == "" || school.District == s.District) &&
		(s.School == "" || school.ID == s.School)
}

// ScopeFunc returns the scope of the caller of r. An error refuses the
// request with 401 Unauthorized and the error's text as the message; it must
// therefore say what is wrong with the credentials, never reveal secrets.
type ScopeFunc func(r *http.Request) (Scope, error)

type scopeKey struct{}

// WithScope returns a copy of ctx that carries scope.
func WithScope(ctx context.Context, scope Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope)
}

// ScopeFrom returns the scope carried by ctx, or the zero Scope, which allows
// nothing, when ctx carries none.
func ScopeFrom(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}

// scopeMiddleware puts the caller's scope, as fn decides it, in the request
// context. Access control is this one step: handlers only ever filter by
// ScopeFrom.
func scopeMiddleware(fn ScopeFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			scope, err := fn(r)
			if err != nil {
				return httpError(http.StatusUnauthorized, "%v", err)
			}
			c.SetRequest(r.WithContext(WithScope(r.Context(), scope)))
			return next(c)
		}
	}
}
