package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err to say that sending the same message again cannot
// succeed: the receiver refused it (HTTP 4xx other than 408 and 429, an
// errcode for a bad signature, an SMTP 5xx reply) or the configuration is
// wrong. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was made by
// Permanent. Every other error (network errors, timeouts, HTTP 5xx and 429,
// SMTP 4xx) is transient and worth retrying.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// statusError is the error for an HTTP answer that is not 2xx, permanent
// or transient by its status code.
func statusError(code int, body []byte) error {
	err := fmt.Errorf("HTTP %d %s: %s", code, http.StatusText(code), snippet(body))
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout &&
		code != http.StatusTooEarly && code != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

// snippet returns the start of a response body for an error message.
func snippet(b []byte) string {
	const max = 256
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// redactURL returns u without credentials: the user info and every query
// value (DingTalk's access_token, WeCom's key) are replaced, so the URL can
// appear in errors and logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<unparsable URL>"
	}
	if p.User != nil {
		p.User = url.User("xxxxx")
	}
	if p.RawQuery != "" {
		q := p.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		p.RawQuery = q.Encode()
	}
	p.Fragment = ""
	return p.String()
}
