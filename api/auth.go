package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine/auth"
)

// Authenticator checks a presented token secret and returns whose it is,
// or an error: auth.ErrNoToken, ErrInvalidToken, ErrExpiredToken and
// ErrRevokedToken refuse the request with 401; any other error is a failure
// to check (503). *auth.Verifier satisfies it. It must be safe for
// concurrent use.
type Authenticator interface {
	Verify(ctx context.Context, secret string) (auth.Identity, error)
}

// AuditFunc stores one audit record and returns once it is stored. A record
// written again with the same ID replaces the earlier one. It must be safe
// for concurrent use.
type AuditFunc func(ctx context.Context, e auth.Entry) error

// AuditLogFunc reads the audit log, newest first.
type AuditLogFunc func(ctx context.Context, f auth.AuditFilter) ([]auth.Entry, error)

// AuthOptions turn authentication on. Without them (Options.Auth nil) every
// caller has the scope Options.Scope gives and may do everything: that is
// `sanse serve --web.insecure-no-auth`.
type AuthOptions struct {
	// Verifier checks bearer tokens and session cookies. Required.
	Verifier Authenticator
	// Audit records every act; acts are refused (503) when it fails. Acts
	// are not audited when nil.
	Audit AuditFunc
	// AuditLog serves GET /api/v1/audit to admins; not served when nil.
	AuditLog AuditLogFunc
	// ExternalURL is the address people reach the server at, e.g.
	// https://sanse.example.org. When set, a request whose Host differs is
	// refused (DNS rebinding), and so is a cookie-authenticated change whose
	// Origin differs; the session cookie is Secure when its scheme is https.
	ExternalURL *url.URL
	// MetricsAuth requires an admin token for /metrics.
	MetricsAuth bool
	// HighRiskAboveSchool lets only an operator whose scope is above the
	// school (its district, or all) resolve a high risk that waits for a
	// person (hazards.high_risk_resolve_above_school).
	HighRiskAboveSchool bool
}

// Cookies and the header of a signed-in page.
const (
	// SessionCookie holds the token of a signed-in page: HttpOnly,
	// SameSite=Strict, Path=/.
	SessionCookie = "sanse_session"
	// CSRFCookie holds a random value the page's script reads and sends
	// back in CSRFHeader with every change; another site can neither read
	// the cookie nor set the header.
	CSRFCookie = "sanse_csrf"
	// CSRFHeader carries the value of CSRFCookie.
	CSRFHeader = "X-Sanse-CSRF"
)

type identityKey struct{}

// WithIdentity returns a copy of ctx that carries the caller's identity.
func WithIdentity(ctx context.Context, id auth.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the caller's identity, and false when the request was
// not authenticated (no authentication configured).
func IdentityFrom(ctx context.Context) (auth.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(auth.Identity)
	return id, ok
}

// scopeOf returns the API scope of an identity's scope.
func scopeOf(s auth.Scope) Scope {
	if s.All {
		return ScopeAll
	}
	var any []Scope
	for _, d := range s.Districts {
		any = append(any, Scope{District: d})
	}
	for _, id := range s.Schools {
		any = append(any, Scope{School: id})
	}
	if len(any) == 1 {
		return any[0]
	}
	if len(any) == 0 {
		return Scope{}
	}
	return Scope{Any: any}
}

// routeRoles is the role each route needs beyond viewer, by method and
// route pattern. Every other GET or HEAD needs viewer; every other change
// needs admin, so that a route added without an entry is closed rather
// than open.
var routeRoles = map[string]auth.Role{
	"POST /api/v1/alerts/:id/ack":            auth.RoleOperator,
	"POST /api/v1/alerts/:id/resolve":        auth.RoleOperator,
	"POST /api/v1/schools/:id/risks/resolve": auth.RoleOperator,
	"POST /api/v1/schools/:id/risks/dispose": auth.RoleOperator,
	"POST /api/v1/hazards":                   auth.RoleOperator,
	"POST /api/v1/hazards/:id/transition":    auth.RoleOperator,
	"POST /api/v1/reports":                   auth.RoleOperator,
	"POST /api/v1/rules/validate":            auth.RoleAdmin,
	"POST /-/reload":                         auth.RoleAdmin,
	"GET /api/v1/audit":                      auth.RoleAdmin,
	"GET /metrics":                           auth.RoleAdmin,
}

// RequiredRole returns the role a request of method to the route pattern
// needs.
func RequiredRole(method, route string) auth.Role {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if r, ok := routeRoles[method+" "+route]; ok {
		return r
	}
	if method == http.MethodGet {
		return auth.RoleViewer
	}
	return auth.RoleAdmin
}

// safeMethod reports whether a request of method changes nothing.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// credentials returns the token a request presents and whether it came in
// the session cookie.
func credentials(r *http.Request) (secret string, cookie bool) {
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return strings.TrimSpace(token), false
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

// checkHost refuses a request whose Host is not the external URL's.
func (s *Server) checkHost(r *http.Request) error {
	if s.auth == nil || s.auth.ExternalURL == nil {
		return nil
	}
	if !strings.EqualFold(r.Host, s.auth.ExternalURL.Host) {
		return httpError(http.StatusMisdirectedRequest, "this server answers to %s only", s.auth.ExternalURL.Host)
	}
	return nil
}

// checkOrigin refuses a cookie-authenticated change that comes from another
// origin than the server's, or that lacks the CSRF header.
func (s *Server) checkCSRF(r *http.Request) error {
	if origin := r.Header.Get("Origin"); origin != "" {
		want := "http://" + r.Host
		if r.TLS != nil {
			want = "https://" + r.Host
		}
		if s.auth.ExternalURL != nil {
			want = s.auth.ExternalURL.Scheme + "://" + s.auth.ExternalURL.Host
		}
		if !strings.EqualFold(origin, want) {
			return httpError(http.StatusForbidden, "cross-origin request refused")
		}
	}
	c, err := r.Cookie(CSRFCookie)
	h := r.Header.Get(CSRFHeader)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(h)) != 1 {
		return httpError(http.StatusForbidden, "missing or wrong %s header: a signed-in page sends the value of the %s cookie", CSRFHeader, CSRFCookie)
	}
	return nil
}

// authenticate returns the identity of the request's caller, or the error
// response: 401 without valid credentials, 503 when they could not be
// checked.
func (s *Server) authenticate(r *http.Request) (auth.Identity, bool, error) {
	secret, cookie := credentials(r)
	if secret == "" {
		return auth.Identity{}, cookie, httpError(http.StatusUnauthorized, "%v", auth.ErrNoToken)
	}
	id, err := s.auth.Verifier.Verify(r.Context(), secret)
	switch {
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken),
		errors.Is(err, auth.ErrExpiredToken), errors.Is(err, auth.ErrRevokedToken):
		s.metrics.authFailures.WithLabelValues(authReason(err)).Inc()
		return auth.Identity{}, cookie, httpError(http.StatusUnauthorized, "%v", err)
	case err != nil:
		return auth.Identity{}, cookie, httpError(http.StatusServiceUnavailable, "could not check the token; try again").SetInternal(err)
	}
	return id, cookie, nil
}

// authReason classifies a refused token for the metric.
func authReason(err error) string {
	switch {
	case errors.Is(err, auth.ErrNoToken):
		return "missing"
	case errors.Is(err, auth.ErrExpiredToken):
		return "expired"
	case errors.Is(err, auth.ErrRevokedToken):
		return "revoked"
	}
	return "invalid"
}

// authMiddleware is the access control of every route but /healthz and
// /readyz: the Host check, the token (bearer or session cookie), the role
// the route needs (RequiredRole), the CSRF check of cookie-authenticated
// changes; then the caller's scope and identity go into the request's
// context, where handlers read them (ScopeFrom, IdentityFrom).
func (s *Server) authMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if err := s.checkHost(r); err != nil {
			return err
		}
		id, cookie, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if need := RequiredRole(r.Method, c.Path()); !id.Can(need) {
			herr := httpError(http.StatusForbidden, "the role %s may not do this; it needs %s", id.Role, need)
			if !safeMethod(r.Method) {
				s.auditDenied(c, id, r.Method+" "+c.Path(), herr)
			}
			return herr
		}
		if cookie && !safeMethod(r.Method) {
			if err := s.checkCSRF(r); err != nil {
				return err
			}
		}
		ctx := WithIdentity(WithScope(r.Context(), scopeOf(id.Scope)), id)
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// hostOnly is the middleware of the routes open without a token when
// authentication is on (the page's assets): only the Host check.
func (s *Server) hostOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.checkHost(c.Request()); err != nil {
			return err
		}
		return next(c)
	}
}

// actorOf returns who performs an act: the caller's identity when the
// request was authenticated, whatever the body says (by is then ignored);
// by, as given, when no authentication is configured.
func actorOf(c echo.Context, by string) string {
	if id, ok := IdentityFrom(c.Request().Context()); ok {
		return id.Actor()
	}
	return by
}

// sessionRequest is the body of POST /api/v1/session.
type sessionRequest struct {
	Token string `json:"token"`
}

// sessionBody describes the signed-in caller.
type sessionBody struct {
	Name    string    `json:"name"`
	Display string    `json:"display,omitempty"`
	Role    auth.Role `json:"role"`
	Scope   string    `json:"scope"`
}

func newSessionBody(id auth.Identity) sessionBody {
	return sessionBody{Name: id.Name, Display: id.Display, Role: id.Role, Scope: id.Scope.String()}
}

// routeSession registers the sign-in, the signed-in caller and the sign-out.
func (s *Server) routeSession(e *echo.Echo) {
	// Sign-in is rate limited by address: a guessed token costs time.
	e.POST("/api/v1/session", s.handleSignIn, s.hostOnly, s.rateLimit)
	e.GET("/api/v1/session", func(c echo.Context) error {
		id, _ := IdentityFrom(c.Request().Context())
		return c.JSON(http.StatusOK, newSessionBody(id))
	}, s.authMiddleware)
	e.DELETE("/api/v1/session", s.handleSignOut, s.hostOnly)
}

// handleSignIn serves POST /api/v1/session: the page signs in with a
// token, which is checked and then kept in an HttpOnly, SameSite=Strict
// cookie, beside the CSRF cookie the page's script sends back. Every
// attempt is audited.
func (s *Server) handleSignIn(c echo.Context) error {
	var req sessionRequest
	if err := readJSON(c, &req, "token"); err != nil {
		return err
	}
	r := c.Request()
	id, err := s.auth.Verifier.Verify(r.Context(), req.Token)
	entry := auth.Entry{Action: auth.ActionSignIn, Remote: c.RealIP(), Result: auth.ResultOK}
	if err == nil {
		entry.Actor, entry.Role, entry.Scope = id.Actor(), id.Role, id.Scope.String()
	} else {
		entry.Result = auth.ResultDenied
		entry.Detail = detailJSON(map[string]any{"reason": authReason(err)})
	}
	if aerr := s.writeAudit(r.Context(), entry); aerr != nil {
		return httpError(http.StatusServiceUnavailable, "could not record the sign-in; try again").SetInternal(aerr)
	}
	switch {
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken),
		errors.Is(err, auth.ErrExpiredToken), errors.Is(err, auth.ErrRevokedToken):
		s.metrics.authFailures.WithLabelValues(authReason(err)).Inc()
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "sign-in refused", slog.String("remote", c.RealIP()), slog.String("reason", authReason(err)))
		return httpError(http.StatusUnauthorized, "%v", err)
	case err != nil:
		return httpError(http.StatusServiceUnavailable, "could not check the token; try again").SetInternal(err)
	}
	secure := r.TLS != nil || (s.auth.ExternalURL != nil && s.auth.ExternalURL.Scheme == "https")
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: strings.TrimSpace(req.Token), Path: "/",
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	c.SetCookie(&http.Cookie{Name: CSRFCookie, Value: randomHex(16), Path: "/",
		Secure: secure, SameSite: http.SameSiteStrictMode})
	return c.JSON(http.StatusOK, newSessionBody(id))
}

// handleSignOut serves DELETE /api/v1/session: the cookies are cleared,
// whether or not the token still works.
func (s *Server) handleSignOut(c echo.Context) error {
	if secret, cookie := credentials(c.Request()); cookie && secret != "" {
		if id, err := s.auth.Verifier.Verify(c.Request().Context(), secret); err == nil {
			_ = s.writeAudit(c.Request().Context(), auth.Entry{Action: auth.ActionSignOut, Actor: id.Actor(),
				Role: id.Role, Scope: id.Scope.String(), Remote: c.RealIP(), Result: auth.ResultOK})
		}
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie,
			SameSite: http.SameSiteStrictMode})
	}
	return c.NoContent(http.StatusNoContent)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("api: read random bytes: %v", err)) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
