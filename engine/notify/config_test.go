package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestDocsExample decodes the example of docs/notify.md strictly, as the
// configuration file is decoded, and validates every receiver.
func TestDocsExample(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "notify.md"))
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)```yaml\n(alerting:.*?)```").FindSubmatch(md)
	require.NotNil(t, block, "docs/notify.md has no alerting example")

	var cfg struct {
		Alerting struct {
			Receivers []ReceiverConfig `yaml:"receivers"`
		} `yaml:"alerting"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(block[1]))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&cfg))
	require.Len(t, cfg.Alerting.Receivers, 4)
	for _, r := range cfg.Alerting.Receivers {
		require.NoError(t, r.Validate(), r.Name)
	}
	nanhu := cfg.Alerting.Receivers[0]
	require.Equal(t, []Sensitivity{SensitiveStudent, SensitiveReporter}, nanhu.Reveal)
	require.NotNil(t, nanhu.DingTalk)
	require.NotNil(t, nanhu.Email)
	require.True(t, nanhu.Email.startTLS())
}

func TestValidate(t *testing.T) {
	webhook := &WebhookConfig{URL: "https://platform.example.org/hook"}
	email := func(edit func(e *EmailConfig)) *EmailConfig {
		e := &EmailConfig{Smarthost: "smtp.example.org:587", From: "sanse@example.org", To: []string{"a@example.org"},
			Username: "sanse@example.org", Password: "p"}
		edit(e)
		return e
	}
	no := false
	yes := true
	for _, tc := range []struct {
		name string
		c    ReceiverConfig
		want []string // each must appear in the error; none: valid
	}{
		{"valid webhook", ReceiverConfig{Name: "r", Webhook: webhook}, nil},
		{"valid email", ReceiverConfig{Name: "r", Email: email(func(*EmailConfig) {})}, nil},
		{"valid implicit TLS", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) { e.ImplicitTLS = true })}, nil},
		{"valid plain text without password", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) {
			e.StartTLS, e.Username, e.Password = &no, "", ""
		})}, nil},
		{"no name", ReceiverConfig{Webhook: webhook}, []string{`receiver "": name: must not be empty`}},
		{"no channel", ReceiverConfig{Name: "r"}, []string{`receiver "r": has no channel`}},
		{"webhook not http", ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: "ftp://x/y"}},
			[]string{`receiver "r": webhook.url: must be an absolute http(s) URL, got scheme "ftp"`}},
		{"secret twice", ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: "http://x", Secret: "a", SecretFile: "f"}},
			[]string{"webhook.secret: set either webhook.secret or webhook.secret_file, not both"}},
		{"reserved header", ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: "http://x", Headers: map[string]Secret{"x-sanse-signature": "v"}}},
			[]string{`webhook.headers: header "x-sanse-signature" is set by the channel`}},
		{"header injection", ReceiverConfig{Name: "r", Alertmanager: &AlertmanagerConfig{URL: "http://x", Headers: map[string]Secret{"A": "v\r\nB: c"}}},
			[]string{`alertmanager.headers: the value of header "A" contains a line break`}},
		{"dingtalk without URL, secret not SEC", ReceiverConfig{Name: "r", DingTalk: &DingTalkConfig{Secret: "abc"}},
			[]string{"dingtalk.url: must be set", "dingtalk.secret: expected the robot's signing secret, which starts with SEC"}},
		{"wecom URL is not echoed", ReceiverConfig{Name: "r", WeCom: &WeComConfig{URL: "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k123"}},
			[]string{"wecom.url: must be an absolute http(s) URL"}},
		{"unknown and conflicting classes", ReceiverConfig{Name: "r", Webhook: webhook,
			Redact: []Sensitivity{"students", SensitiveStudent}, Reveal: []Sensitivity{SensitiveStudent}},
			[]string{`redact: unknown class "students", expected visitor, student or reporter`, `reveal: "student" is also listed in redact`}},
		{"email needs smarthost, from, to", ReceiverConfig{Name: "r", Email: &EmailConfig{}},
			[]string{"email.smarthost: must be set, expected host:port", "email.from: must be set", "email.to: must list at least one address"}},
		{"email bad addresses", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) {
			e.Smarthost, e.From, e.To = "smtp.example.org", "not an address", []string{"a@example.org", "also not"}
		})}, []string{
			`email.smarthost: expected host:port, got "smtp.example.org"`,
			`email.from: expected an address, got "not an address"`,
			`email.to: expected an address, got "also not"`,
		}},
		{"email password in clear text", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) { e.StartTLS = &no })},
			[]string{"email.starttls: is false, but a password is never sent unencrypted"}},
		{"email starttls and implicit", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) { e.StartTLS, e.ImplicitTLS = &yes, true })},
			[]string{"email.starttls: cannot be true with implicit_tls"}},
		{"email username without password", ReceiverConfig{Name: "r", Email: email(func(e *EmailConfig) { e.Password = "" })},
			[]string{"email.username: needs password or password_file"}},
		{"negative timeout", ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: "http://x", Timeout: -1}},
			[]string{"webhook.timeout: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), "k123", "URLs may carry credentials and are not echoed")
		})
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	c := ReceiverConfig{
		Name:     "r",
		DingTalk: &DingTalkConfig{URL: "https://oapi.dingtalk.com/robot/send?access_token=tok123", Secret: "SECsss"},
		Webhook:  &WebhookConfig{URL: "https://x", Secret: "whsecret", Headers: map[string]Secret{"Authorization": "Bearer bbb"}},
		Email:    &EmailConfig{Password: "pw999"},
	}
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{string(y), string(j), fmt.Sprintf("%v %+v", *c.DingTalk, *c.Webhook), fmt.Sprint(*c.Email)} {
		for _, secret := range []string{"tok123", "SECsss", "whsecret", "bbb", "pw999"} {
			require.NotContains(t, out, secret)
		}
	}
	require.Contains(t, string(y), "<secret>")
}

func TestNewReceiverFiles(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("from-file\n"), 0o600))
	srv := verifyingServer(t, "from-file")
	r := newTestReceiver(t, ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: srv.URL, SecretFile: secretFile}})
	require.NoError(t, sendOne(t, r, sampleMessage()), "the file's trimmed contents sign")

	for _, tc := range []struct {
		name string
		c    ReceiverConfig
		want string
	}{
		{"missing secret file", ReceiverConfig{Name: "r", Webhook: &WebhookConfig{URL: "http://x", SecretFile: filepath.Join(dir, "nope")}},
			`receiver "r": webhook.secret_file: open`},
		{"missing password file", ReceiverConfig{Name: "r", Email: &EmailConfig{Smarthost: "h:25", From: "a@b", To: []string{"a@b"},
			Username: "u", PasswordFile: filepath.Join(dir, "nope")}}, `receiver "r": email.password_file: open`},
		{"CA file without a certificate", ReceiverConfig{Name: "r", Email: &EmailConfig{Smarthost: "h:25", From: "a@b", To: []string{"a@b"},
			CAFile: secretFile}}, `receiver "r": email.ca_file: no PEM certificate`},
		{"invalid config", ReceiverConfig{Name: "r"}, "has no channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReceiver(tc.c, Options{})
			require.ErrorContains(t, err, tc.want)
		})
	}
}
