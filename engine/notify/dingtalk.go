package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// dingTalkLimit keeps a markdown message well within what a DingTalk robot
// accepts; longer messages list fewer alerts.
const dingTalkLimit = 16000

// dingTalk posts to a DingTalk custom robot (自定义机器人).
type dingTalk struct {
	post   poster
	secret string
	now    func() time.Time
}

func (d *dingTalk) Kind() string { return "dingtalk" }

func (d *dingTalk) Send(ctx context.Context, m *Message) error {
	doc := newDocument(m)
	body, err := json.Marshal(map[string]any{
		"msgtype": "markdown",
		"markdown": map[string]string{
			"title": doc.Title,
			"text":  doc.markdown(dingTalkLimit),
		},
	})
	if err != nil {
		return Permanent(fmt.Errorf("dingtalk: encode: %w", err))
	}
	u := d.post.url
	if d.secret != "" {
		if u, err = signDingTalk(u, d.secret, d.now()); err != nil {
			return Permanent(fmt.Errorf("dingtalk: %w", err))
		}
	}
	h := http.Header{}
	h.Set(headerID, m.ID)
	code, answer, err := d.post.post(ctx, u, body, h)
	if err != nil {
		return fmt.Errorf("dingtalk: %w", err)
	}
	return robotAnswer("dingtalk", code, answer, func(errcode int) bool {
		// 310000: the signature, timestamp, keyword or IP address check
		// failed, which only a change of configuration (or clock) fixes.
		return errcode == 310000
	})
}

// signDingTalk adds DingTalk's timestamp and sign parameters to u: the
// timestamp in milliseconds and the base64 HMAC-SHA256, keyed with secret,
// of the timestamp, a line feed and the secret.
func signDingTalk(u, secret string, now time.Time) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("parse URL: %w", err)
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	q := p.Query()
	q.Set("timestamp", ts)
	q.Set("sign", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// robotAnswer checks the answer of a DingTalk or WeCom robot: HTTP 200
// with {"errcode":0}. permanent says which errcodes retrying cannot fix.
func robotAnswer(name string, code int, answer []byte, permanent func(errcode int) bool) error {
	if code/100 != 2 {
		return fmt.Errorf("%s: %w", name, statusError(code, answer))
	}
	var r struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(answer, &r); err != nil || r.ErrCode == nil {
		return fmt.Errorf("%s: unexpected answer: %s", name, snippet(answer))
	}
	if *r.ErrCode != 0 {
		err := fmt.Errorf("%s: errcode %d: %s", name, *r.ErrCode, snippet([]byte(r.ErrMsg)))
		if permanent(*r.ErrCode) {
			return Permanent(err)
		}
		return err
	}
	return nil
}
