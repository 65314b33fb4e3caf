package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTP headers of the Sanse channels.
const (
	headerID        = "X-Sanse-Notification-Id"
	headerSignature = "X-Sanse-Signature"
	headerTimestamp = "X-Sanse-Timestamp"
)

const userAgent = "sanse-notify/1"

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// poster posts JSON bodies to one URL.
type poster struct {
	client  *http.Client
	url     string
	headers map[string]Secret
	timeout time.Duration
}

func newPoster(client *http.Client, u string, headers map[string]Secret, timeout time.Duration) poster {
	return poster{client: client, url: u, headers: headers, timeout: timeout}
}

// post sends body to u (p.url when u is "") and returns the status and the
// start of the answer. Errors never contain the URL's query or user info.
func (p *poster) post(ctx context.Context, u string, body []byte, header http.Header) (int, []byte, error) {
	if u == "" {
		u = p.url
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, Permanent(fmt.Errorf("POST %s: %w", redactURL(u), err))
	}
	for k, v := range p.headers {
		req.Header.Set(k, string(v))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("POST %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: read answer: %w", redactURL(u), err)
	}
	return resp.StatusCode, b, nil
}
