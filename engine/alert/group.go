package alert

import (
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Grouping: the first messages of one school's alerts wait for the group
// wait of the first one's route, so that a burst is one message; quiet
// hours then hold a group without a red alert back until they end.

// group collects the alerts of one school whose first message is due.
type group struct {
	due    time.Time
	alerts []string
}

// add queues id, once.
func (g *group) add(id string) {
	if !slices.Contains(g.alerts, id) {
		g.alerts = append(g.alerts, id)
	}
}

// groupState is what a group does at a tick.
type groupState int

const (
	groupWaiting groupState = iota // not due yet
	groupEmpty                     // due, but every alert of it resolved: drop it
	groupHeld                      // due in quiet hours, nothing red: held until they end
	groupDue                       // send the first message now
)

// checkGroup decides what a group due at due does at now, given its alerts
// still active; when held, it returns the new due time.
func checkGroup(due time.Time, alerts []*Alert, now time.Time, hours []QuietHours) (groupState, time.Time) {
	if now.Before(due) {
		return groupWaiting, due
	}
	if len(alerts) == 0 {
		return groupEmpty, due
	}
	red := slices.ContainsFunc(alerts, func(a *Alert) bool { return a.Level == engine.LevelRed })
	if q, until := quiet(hours, now); q && !red {
		return groupHeld, until
	}
	return groupDue, due
}
