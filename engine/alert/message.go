package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Messages: what the manager decided becomes notifications, one per
// receiver, each with an id derived from what it says (kind, receiver,
// step, time, alerts), so that making it again gives the same id.

// newMessage makes one notification of kind to receiver about alerts, all
// of one school whose colour is level now; sources names the alerts'
// sources for people (nil: the built-in sources' names).
func newMessage(kind notify.Kind, receiver string, step int, alerts []*Alert, at time.Time, level engine.Level, link string, sources *event.Contract) *notify.Notification {
	if sources == nil {
		sources = event.Builtin()
	}
	a0 := alerts[0]
	msg := notify.Message{
		Kind: kind, SchoolID: a0.SchoolID, SchoolName: a0.SchoolName, District: a0.District, Town: a0.Town,
		Level: level, Step: step, At: at, URL: link,
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", kind, receiver, step, at.UnixMilli())
	for _, a := range alerts {
		msg.Items = append(msg.Items, a.item(sources))
		fmt.Fprintf(h, "\x00%s", a.ID)
	}
	msg.ID = "n-" + hex.EncodeToString(h.Sum(nil))[:24]
	return &notify.Notification{ID: msg.ID, Receiver: receiver, Message: msg, Created: at}
}

// newMessages makes the messages of kind about alerts (of one school) to
// the receivers of step: one per receiver, naming the alerts it gets, in
// the order the receivers first appear. None when nobody is configured.
func newMessages(kind notify.Kind, step int, alerts []*Alert, receivers func(a *Alert) []string, at time.Time, level engine.Level, link string, sources *event.Contract) []*notify.Notification {
	byReceiver := map[string][]*Alert{}
	var order []string
	for _, a := range alerts {
		for _, name := range receivers(a) {
			if _, ok := byReceiver[name]; !ok {
				order = append(order, name)
			}
			byReceiver[name] = append(byReceiver[name], a)
		}
	}
	ns := make([]*notify.Notification, 0, len(order))
	for _, name := range order {
		ns = append(ns, newMessage(kind, name, step, byReceiver[name], at, level, link, sources))
	}
	return ns
}

// schoolLink returns the map's link to a school, or "" without an external URL.
func schoolLink(externalURL, schoolID string) string {
	if externalURL == "" {
		return ""
	}
	return externalURL + "/?school=" + url.QueryEscape(schoolID)
}
