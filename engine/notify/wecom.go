package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// weComLimit is the largest markdown content a WeCom robot accepts, in bytes.
const weComLimit = 4096

// weCom posts to a WeCom group robot (企业微信群机器人).
type weCom struct {
	post poster
}

func (w *weCom) Kind() string { return "wecom" }

func (w *weCom) Send(ctx context.Context, m *Message) error {
	doc := newDocument(m)
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": doc.markdown(weComLimit)},
	})
	if err != nil {
		return Permanent(fmt.Errorf("wecom: encode: %w", err))
	}
	h := http.Header{}
	h.Set(headerID, m.ID)
	code, answer, err := w.post.post(ctx, "", body, h)
	if err != nil {
		return fmt.Errorf("wecom: %w", err)
	}
	return robotAnswer("wecom", code, answer, func(errcode int) bool {
		// 93000: the webhook key is invalid; the robot was removed or the
		// URL is wrong.
		return errcode == 93000
	})
}
