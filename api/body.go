package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxBody bounds the JSON body of a request that changes something
// (resolve, alert and hazard actions).
const maxBody = 64 << 10

// readJSON decodes the request's JSON body into v, refusing another content
// type, unknown fields, trailing data and bodies over maxBody with an error
// whose message speaks of the request, not of Go types. fields names the
// body's fields for the messages (e.g. "by and comment").
func readJSON(c echo.Context, v any, fields string) error {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		ct := r.Header.Get(echo.HeaderContentType)
		if ct == "" {
			ct = "none"
		}
		return httpError(http.StatusUnsupportedMediaType, "send the body as application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var (
			tooLarge  *http.MaxBytesError
			syntax    *json.SyntaxError
			wrongType *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &tooLarge):
			return httpError(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return httpError(http.StatusBadRequest, "the body is empty: send a JSON object with %s", fields)
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return httpError(http.StatusBadRequest, "invalid body: not JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		case errors.As(err, &wrongType):
			if wrongType.Field == "" {
				return httpError(http.StatusBadRequest, "invalid body: a JSON object expected, not %s", wrongType.Value)
			}
			return httpError(http.StatusBadRequest, "invalid body: field %q must be %s, not %s", wrongType.Field, jsonKind(wrongType), wrongType.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return httpError(http.StatusBadRequest, "invalid body: %s; the fields are %s", strings.TrimPrefix(err.Error(), "json: "), fields)
		}
		return httpError(http.StatusBadRequest, "invalid body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return httpError(http.StatusBadRequest, "invalid body: one JSON object expected, found more after it")
	}
	return nil
}

// jsonKind names the JSON kind a field expects.
func jsonKind(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind().String() {
	case "slice":
		return "a list"
	case "struct":
		return "an object"
	}
	return "a string"
}
