package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Secret is a configuration value that is a credential (a signing secret, a
// password, a URL carrying a token). It prints and marshals as "<secret>",
// so a dumped configuration does not leak it.
type Secret string

const secretMask = "<secret>"

// String returns "<secret>", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// ReceiverConfig is one receiver of the alerting configuration: a name, what
// it must not see, and one or more channels.
type ReceiverConfig struct {
	Name string `yaml:"name"`
	// Redact lists the sensitivity classes this receiver must not see; their
	// values are replaced by "（已隐去）".
	Redact []Sensitivity `yaml:"redact"`
	// Reveal lists the classes that are hidden by default (student,
	// reporter) and that this receiver may see.
	Reveal []Sensitivity `yaml:"reveal"`

	Webhook      *WebhookConfig      `yaml:"webhook"`
	Alertmanager *AlertmanagerConfig `yaml:"alertmanager"`
	DingTalk     *DingTalkConfig     `yaml:"dingtalk"`
	WeCom        *WeComConfig        `yaml:"wecom"`
	Email        *EmailConfig        `yaml:"email"`
}

// WebhookConfig posts the message as JSON (docs/notify.md), signed when a
// secret is set.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// Secret (or the contents of SecretFile, trimmed) is the HMAC-SHA256 key
	// for the X-Sanse-Signature header; empty sends unsigned.
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Headers are added to every request, e.g. Authorization.
	Headers map[string]Secret `yaml:"headers"`
	// Timeout bounds one delivery; 0 leaves only the HTTP client's.
	Timeout time.Duration `yaml:"timeout"`
}

// AlertmanagerConfig posts the message in the payload of Alertmanager's
// webhook receiver (version 4), for tools that already consume it.
type AlertmanagerConfig struct {
	URL     string            `yaml:"url"`
	Headers map[string]Secret `yaml:"headers"`
	// MaxAlerts bounds the alerts in one payload (the rest are counted in
	// truncatedAlerts); 0 sends all.
	MaxAlerts int           `yaml:"max_alerts"`
	Timeout   time.Duration `yaml:"timeout"`
}

// DingTalkConfig posts to a DingTalk group robot (钉钉自定义机器人).
type DingTalkConfig struct {
	// URL is the robot's webhook, https://oapi.dingtalk.com/robot/send?access_token=….
	// URLFile holds it instead (trimmed), read when the receiver is built,
	// so that the token stays out of the configuration file.
	URL     Secret `yaml:"url"`
	URLFile string `yaml:"url_file"`
	// Secret is the robot's signing secret (加签, "SEC…"); empty when the
	// robot is secured by keywords or IP addresses instead.
	Secret     Secret        `yaml:"secret"`
	SecretFile string        `yaml:"secret_file"`
	Timeout    time.Duration `yaml:"timeout"`
}

// WeComConfig posts to a WeCom group robot (企业微信群机器人).
type WeComConfig struct {
	// URL is the robot's webhook, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=….
	// URLFile holds it instead (trimmed), read when the receiver is built.
	URL     Secret        `yaml:"url"`
	URLFile string        `yaml:"url_file"`
	Timeout time.Duration `yaml:"timeout"`
}

// EmailConfig sends mail through a smarthost.
type EmailConfig struct {
	Smarthost string   `yaml:"smarthost"` // host:port
	From      string   `yaml:"from"`      // "Sanse 预警 <alerts@example.org>" or a bare address
	To        []string `yaml:"to"`
	Hello     string   `yaml:"hello"` // the EHLO name; default "localhost"
	Username  string   `yaml:"username"`
	// Password (or the contents of PasswordFile, trimmed) is sent with AUTH
	// PLAIN or LOGIN, and only over TLS.
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// StartTLS requires the server to offer STARTTLS and upgrades before
	// anything else; default true. ImplicitTLS speaks TLS from the first byte
	// (port 465) instead.
	StartTLS    *bool `yaml:"starttls"`
	ImplicitTLS bool  `yaml:"implicit_tls"`
	// CAFile holds the PEM certificates that verify the server, in place of
	// the system roots; ServerName is the name to verify, default the
	// smarthost's host.
	CAFile     string        `yaml:"ca_file"`
	ServerName string        `yaml:"server_name"`
	Timeout    time.Duration `yaml:"timeout"` // one delivery; default 30s
}

// startTLS reports whether the connection is upgraded with STARTTLS.
func (c *EmailConfig) startTLS() bool {
	if c.ImplicitTLS {
		return false
	}
	return c.StartTLS == nil || *c.StartTLS
}

// Validate checks the receiver and returns every problem at once, each
// naming the receiver and the field.
func (c *ReceiverConfig) Validate() error {
	v := validator{receiver: c.Name}
	if strings.TrimSpace(c.Name) == "" {
		v.add("name", "must not be empty")
	}
	for _, s := range c.Redact {
		if !knownSensitivity(s) {
			v.add("redact", "unknown class %q, expected visitor, student or reporter", s)
		}
	}
	for _, s := range c.Reveal {
		switch {
		case !knownSensitivity(s):
			v.add("reveal", "unknown class %q, expected visitor, student or reporter", s)
		case slices.Contains(c.Redact, s):
			v.add("reveal", "%q is also listed in redact", s)
		}
	}
	n := 0
	if w := c.Webhook; w != nil {
		n++
		v.httpURL("webhook.url", w.URL)
		v.exclusive("webhook.secret", w.Secret != "", "webhook.secret_file", w.SecretFile != "")
		v.headers("webhook.headers", w.Headers)
		v.timeout("webhook.timeout", w.Timeout)
	}
	if a := c.Alertmanager; a != nil {
		n++
		v.httpURL("alertmanager.url", a.URL)
		v.headers("alertmanager.headers", a.Headers)
		if a.MaxAlerts < 0 {
			v.add("alertmanager.max_alerts", "must not be negative, got %d", a.MaxAlerts)
		}
		v.timeout("alertmanager.timeout", a.Timeout)
	}
	if d := c.DingTalk; d != nil {
		n++
		v.secretURL("dingtalk.url", d.URL, d.URLFile)
		v.exclusive("dingtalk.secret", d.Secret != "", "dingtalk.secret_file", d.SecretFile != "")
		if d.Secret != "" && !strings.HasPrefix(string(d.Secret), "SEC") {
			v.add("dingtalk.secret", "expected the robot's signing secret, which starts with SEC")
		}
		v.timeout("dingtalk.timeout", d.Timeout)
	}
	if w := c.WeCom; w != nil {
		n++
		v.secretURL("wecom.url", w.URL, w.URLFile)
		v.timeout("wecom.timeout", w.Timeout)
	}
	if e := c.Email; e != nil {
		n++
		v.email(e)
	}
	if n == 0 {
		v.add("", "has no channel, expected at least one of webhook, alertmanager, dingtalk, wecom, email")
	}
	return errors.Join(v.errs...)
}

func knownSensitivity(s Sensitivity) bool {
	switch s {
	case SensitiveVisitor, SensitiveStudent, SensitiveReporter:
		return true
	}
	return false
}

// validator collects the problems of one receiver.
type validator struct {
	receiver string
	errs     []error
}

func (v *validator) add(field, format string, args ...any) {
	where := fmt.Sprintf("receiver %q", v.receiver)
	if field != "" {
		where += ": " + field
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// httpURL checks that raw is an absolute http(s) URL. The URL is not echoed,
// as it may carry a token.
func (v *validator) httpURL(field, raw string) {
	if raw == "" {
		v.add(field, "must be set")
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.add(field, "must be an http(s) URL, cannot parse it")
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(field, "must be an absolute http(s) URL, got scheme %q and host %q", u.Scheme, u.Host)
	}
}

// secretURL checks a URL that carries a token and may come from a file
// (field + "_file"), which is checked when it is read.
func (v *validator) secretURL(field string, inline Secret, file string) {
	switch {
	case inline != "" && file != "":
		v.exclusive(field, true, field+"_file", true)
	case file == "":
		v.httpURL(field, string(inline))
	}
}

func (v *validator) exclusive(a string, hasA bool, b string, hasB bool) {
	if hasA && hasB {
		v.add(a, "set either %s or %s, not both", a, b)
	}
}

// reservedHeaders are set by the channels themselves.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", headerID, headerSignature, headerTimestamp}

func (v *validator) headers(field string, h map[string]Secret) {
	for name, value := range h {
		switch {
		case name == "" || strings.ContainsAny(name, " \t\r\n:"):
			v.add(field, "invalid header name %q", name)
		case slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }):
			v.add(field, "header %q is set by the channel and cannot be configured", name)
		case strings.ContainsAny(string(value), "\r\n"):
			v.add(field, "the value of header %q contains a line break", name)
		}
	}
}

func (v *validator) timeout(field string, d time.Duration) {
	if d < 0 {
		v.add(field, "must not be negative, got %s", d)
	}
}

func (v *validator) email(e *EmailConfig) {
	if e.Smarthost == "" {
		v.add("email.smarthost", "must be set, expected host:port")
	} else if host, port, err := net.SplitHostPort(e.Smarthost); err != nil || host == "" {
		v.add("email.smarthost", "expected host:port, got %q", e.Smarthost)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		v.add("email.smarthost", "expected a port number, got %q", port)
	}
	if e.From == "" {
		v.add("email.from", "must be set, expected an address")
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		v.add("email.from", "expected an address, got %q: %v", e.From, err)
	}
	if len(e.To) == 0 {
		v.add("email.to", "must list at least one address")
	}
	for _, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			v.add("email.to", "expected an address, got %q: %v", to, err)
		}
	}
	if strings.ContainsAny(e.Hello, " \t\r\n") {
		v.add("email.hello", "expected a host name, got %q", e.Hello)
	}
	v.exclusive("email.password", e.Password != "", "email.password_file", e.PasswordFile != "")
	hasPassword := e.Password != "" || e.PasswordFile != ""
	switch {
	case e.Username != "" && !hasPassword:
		v.add("email.username", "needs password or password_file")
	case e.Username == "" && hasPassword:
		v.add("email.password", "needs username")
	}
	if e.ImplicitTLS && e.StartTLS != nil && *e.StartTLS {
		v.add("email.starttls", "cannot be true with implicit_tls, which is TLS from the start")
	}
	if e.Username != "" && !e.ImplicitTLS && !e.startTLS() {
		v.add("email.starttls", "is false, but a password is never sent unencrypted: use starttls or implicit_tls")
	}
	if (e.CAFile != "" || e.ServerName != "") && !e.ImplicitTLS && !e.startTLS() {
		v.add("email.ca_file", "is set, but TLS is off (starttls: false)")
	}
	v.timeout("email.timeout", e.Timeout)
}
