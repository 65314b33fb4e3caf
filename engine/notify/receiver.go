package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Channel sends a message somewhere.
//
// Send must be safe for concurrent use and must not change m. It returns
// nil only when the receiver accepted the message; an error that retrying
// cannot fix is wrapped with Permanent. Cancelling ctx makes Send return
// promptly with an error that wraps ctx.Err(); the message may or may not
// have been delivered then, so receivers de-duplicate on Message.ID.
type Channel interface {
	// Kind names the channel type: "webhook", "alertmanager", "dingtalk",
	// "wecom" or "email".
	Kind() string
	Send(ctx context.Context, m *Message) error
}

// Receiver is a named set of channels with what the receiver must not see.
type Receiver struct {
	Name string
	// Redact and Reveal are the receiver's redaction lists (ReceiverConfig).
	Redact   []Sensitivity
	Reveal   []Sensitivity
	Channels []Channel

	logger *slog.Logger
}

// Result is the outcome of one channel's delivery.
type Result struct {
	Channel string // the channel's Kind
	Err     error
}

// Options are the dependencies of the channels.
type Options struct {
	// HTTPClient sends the HTTP channels' requests; nil uses a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock for signatures and mail dates; nil uses time.Now.
	Now func() time.Time
	// Logger receives a debug line per failed delivery; nil discards.
	Logger *slog.Logger
}

const defaultHTTPTimeout = 10 * time.Second

// NewReceiver validates c and builds its channels, reading the secret,
// password and CA files it names.
func NewReceiver(c ReceiverConfig, opts Options) (*Receiver, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{
		Name:   c.Name,
		Redact: append([]Sensitivity(nil), c.Redact...),
		Reveal: append([]Sensitivity(nil), c.Reveal...),
		logger: opts.Logger.With("component", "notify", "receiver", c.Name),
	}
	if w := c.Webhook; w != nil {
		secret, err := secretValue(w.Secret, w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: webhook.secret_file: %w", c.Name, err)
		}
		r.Channels = append(r.Channels, &webhook{
			post:   newPoster(opts.HTTPClient, w.URL, w.Headers, w.Timeout),
			secret: []byte(secret),
			now:    opts.Now,
		})
	}
	if a := c.Alertmanager; a != nil {
		r.Channels = append(r.Channels, &alertmanager{
			post:      newPoster(opts.HTTPClient, a.URL, a.Headers, a.Timeout),
			receiver:  c.Name,
			maxAlerts: a.MaxAlerts,
		})
	}
	if d := c.DingTalk; d != nil {
		secret, err := secretValue(d.Secret, d.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: dingtalk.secret_file: %w", c.Name, err)
		}
		u, err := urlValue(c.Name, "dingtalk.url", d.URL, d.URLFile)
		if err != nil {
			return nil, err
		}
		r.Channels = append(r.Channels, &dingTalk{
			post:   newPoster(opts.HTTPClient, u, nil, d.Timeout),
			secret: secret,
			now:    opts.Now,
		})
	}
	if w := c.WeCom; w != nil {
		u, err := urlValue(c.Name, "wecom.url", w.URL, w.URLFile)
		if err != nil {
			return nil, err
		}
		r.Channels = append(r.Channels, &weCom{post: newPoster(opts.HTTPClient, u, nil, w.Timeout)})
	}
	if e := c.Email; e != nil {
		ch, err := newEmail(*e, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: %w", c.Name, err)
		}
		r.Channels = append(r.Channels, ch)
	}
	return r, nil
}

// secretValue returns the inline secret, or the trimmed contents of file.
func secretValue(inline Secret, file string) (string, error) {
	if file == "" {
		return string(inline), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return s, nil
}

// urlValue returns the inline URL, or the trimmed contents of file checked
// as Validate checks an inline one (without echoing it).
func urlValue(receiver, field string, inline Secret, file string) (string, error) {
	u, err := secretValue(inline, file)
	if err != nil {
		return "", fmt.Errorf("receiver %q: %s_file: %w", receiver, field, err)
	}
	if file != "" {
		v := validator{receiver: receiver}
		v.httpURL(field+"_file", u)
		if err := errors.Join(v.errs...); err != nil {
			return "", err
		}
	}
	return u, nil
}

// Send delivers a redacted copy of m to every channel at once and returns
// one result per channel, in the order of Channels. m is not changed.
func (r *Receiver) Send(ctx context.Context, m *Message) []Result {
	c := redactMessage(r.Redact, r.Reveal, m)
	results := make([]Result, len(r.Channels))
	var wg sync.WaitGroup
	for i, ch := range r.Channels {
		results[i].Channel = ch.Kind()
		wg.Go(func() { results[i].Err = ch.Send(ctx, c) })
	}
	wg.Wait()
	if r.logger != nil {
		for _, res := range results {
			if res.Err != nil {
				r.logger.Debug("delivery failed", "channel", res.Channel, "notification", m.ID,
					"school", m.SchoolID, "permanent", IsPermanent(res.Err), "err", res.Err)
			}
		}
	}
	return results
}
