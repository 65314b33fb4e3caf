package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
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
// sources for people (nil: the built-in sources' names). Its links lead
// to the map at base (none when base is ""): see messageLink.
func newMessage(kind notify.Kind, receiver string, step int, alerts []*Alert, at time.Time, level engine.Level, base string, sources *event.Contract) *notify.Notification {
	if sources == nil {
		sources = event.Builtin()
	}
	a0 := alerts[0]
	msg := notify.Message{
		Kind: kind, SchoolID: a0.SchoolID, SchoolName: a0.SchoolName, District: a0.District, Town: a0.Town,
		Level: level, Step: step, At: at, URL: messageLink(base, alerts),
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", kind, receiver, step, at.UnixMilli())
	for _, a := range alerts {
		it := a.item(sources)
		it.URL = alertLink(base, a)
		msg.Items = append(msg.Items, it)
		fmt.Fprintf(h, "\x00%s", a.ID)
	}
	msg.ID = "n-" + hex.EncodeToString(h.Sum(nil))[:24]
	return &notify.Notification{ID: msg.ID, Receiver: receiver, Message: msg, Created: at}
}

// newMessages makes the messages of kind about alerts (of one school) to
// the receivers of step: one per receiver, naming the alerts it gets, in
// the order the receivers first appear. None when nobody is configured.
func newMessages(kind notify.Kind, step int, alerts []*Alert, receivers func(a *Alert) []string, at time.Time, level engine.Level, base string, sources *event.Contract) []*notify.Notification {
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
		ns = append(ns, newMessage(kind, name, step, byReceiver[name], at, level, base, sources))
	}
	return ns
}

// Links to the map page (docs/map.md): /?school=<id> opens a school's
// detail, /?alert=<id> an alert (in its school's detail), /?hazard=<id> a
// hazard. Each is "" without the map's external URL.

// messageLink returns the link of a message about alerts of one school:
// the alert when it is about one (a hazard under supervision, the
// hazard), the school as a whole when it groups several.
func messageLink(base string, alerts []*Alert) string {
	if len(alerts) == 1 {
		return alertLink(base, alerts[0])
	}
	return schoolLink(base, alerts[0].SchoolID)
}

// alertLink returns the link to one alert: the hazard for the alert that
// stands for a hazard under supervision, which the alert endpoints do not
// know.
func alertLink(base string, a *Alert) string {
	if id, ok := strings.CutPrefix(a.ID, supervisionPrefix); ok {
		return mapLink(base, "hazard", id)
	}
	return mapLink(base, "alert", a.ID)
}

// schoolLink returns the link to a school.
func schoolLink(base, schoolID string) string { return mapLink(base, "school", schoolID) }

func mapLink(base, param, id string) string {
	if base == "" {
		return ""
	}
	return strings.TrimSuffix(base, "/") + "/?" + param + "=" + url.QueryEscape(id)
}
