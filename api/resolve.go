package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sanse-campus/sanse/engine"
)

// ResolveFunc ends a school's active risk of rule and key (key "" when the
// rule has none) as a person's act: by says who, comment why. It returns the
// school as it is after the risk ended, or an error wrapping
// engine.ErrNoSuchRisk when the school has no such active risk. It must be
// safe for concurrent use.
//
// ctx carries the request's values but is not cancelled when the client goes
// away: once begun, a resolution is finished, so that the live state and the
// stored history agree. It is cancelled after resolveTimeout.
type ResolveFunc func(ctx context.Context, schoolID, rule, key, by, comment string) (engine.SchoolView, error)

const (
	// maxResolveBody bounds the body of a resolve request.
	maxResolveBody = 64 << 10
	// resolveTimeout bounds one call of the ResolveFunc.
	resolveTimeout = 30 * time.Second
)

// resolveRequest is the body of POST /api/v1/schools/:id/risks/resolve.
type resolveRequest struct {
	Rule    string `json:"rule"`
	Key     string `json:"key"`
	By      string `json:"by"`
	Comment string `json:"comment"`
}

// handleResolve serves POST /api/v1/schools/:id/risks/resolve: a person ends
// one active risk of a school they may see, saying who they are and why. The
// answer is the school as GET /api/v1/schools/:id shows it afterwards.
func (s *Server) handleResolve(resolve ResolveFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := readResolveRequest(c)
		if err != nil {
			return err
		}
		v, err := s.scopedView(c)
		if err != nil {
			return err
		}
		id, ref := v.School.ID, req.Rule
		if req.Key != "" {
			ref += "/" + req.Key
		}

		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), resolveTimeout)
		defer cancel()
		after, err := resolve(ctx, id, req.Rule, req.Key, req.By, req.Comment)
		switch {
		case errors.Is(err, engine.ErrNoSuchRisk):
			return httpError(http.StatusNotFound, "school %q has no active risk %q", id, ref)
		case err != nil:
			return httpError(http.StatusInternalServerError, "could not resolve risk %q of school %q", ref, id).
				SetInternal(fmt.Errorf("resolve risk %q of school %q: %w", ref, id, err))
		case after.School == nil:
			return httpError(http.StatusInternalServerError, "could not resolve risk %q of school %q", ref, id).
				SetInternal(fmt.Errorf("resolve risk %q of school %q: no school in the answer", ref, id))
		}
		s.logger.LogAttrs(ctx, slog.LevelInfo, "risk resolved", slog.String("school", id),
			slog.String("rule", req.Rule), slog.String("risk_key", req.Key), slog.String("actor", req.By))
		return c.JSON(http.StatusOK, newSchoolDetail(after))
	}
}

// readResolveRequest decodes and checks the body of a resolve request. by
// and comment come back trimmed of surrounding white space.
func readResolveRequest(c echo.Context) (resolveRequest, error) {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		ct := r.Header.Get(echo.HeaderContentType)
		if ct == "" {
			ct = "none"
		}
		return resolveRequest{}, httpError(http.StatusUnsupportedMediaType, "send the body as application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, maxResolveBody))
	dec.DisallowUnknownFields()
	var req resolveRequest
	if err := dec.Decode(&req); err != nil {
		return resolveRequest{}, bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return resolveRequest{}, httpError(http.StatusBadRequest, "invalid body: one JSON object expected, found more after it")
	}

	req.By, req.Comment = strings.TrimSpace(req.By), strings.TrimSpace(req.Comment)
	var missing []string
	for _, f := range []struct{ name, value string }{{"rule", req.Rule}, {"by", req.By}, {"comment", req.Comment}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, fmt.Sprintf("%q", f.name))
		}
	}
	if len(missing) > 0 {
		return resolveRequest{}, httpError(http.StatusBadRequest,
			"missing required %s %s: resolving a risk needs the rule, who resolves it (by) and why (comment)",
			plural(len(missing), "field", "fields"), strings.Join(missing, ", "))
	}
	return req, nil
}

// bodyError turns an error decoding the JSON body into a 400 (413 when the
// body is too large) whose message names what is wrong in the request's
// terms, not the server's types.
func bodyError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return httpError(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxResolveBody)
	case errors.Is(err, io.EOF):
		return httpError(http.StatusBadRequest, `the body is empty: send {"rule": ..., "key": ..., "by": ..., "comment": ...}`)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return httpError(http.StatusBadRequest, "invalid body: not JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	case errors.As(err, &wrongType):
		if wrongType.Field == "" {
			return httpError(http.StatusBadRequest, "invalid body: a JSON object expected, not %s", wrongType.Value)
		}
		return httpError(http.StatusBadRequest, "invalid body: field %q must be a string, not %s", wrongType.Field, wrongType.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return httpError(http.StatusBadRequest, "invalid body: %s; the fields are rule, key, by and comment",
			strings.TrimPrefix(err.Error(), "json: "))
	}
	return httpError(http.StatusBadRequest, "invalid body: %v", err)
}
