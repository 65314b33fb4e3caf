package sim

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type disposition struct {
	envelope
	AlarmID string `json:"alarm_id"`
	State   string `json:"state"`
	Note    string `json:"note,omitempty"`
}

// alarmID returns a new id of an alarm of the vendor platform.
func (s *Simulator) alarmID(sc *school) string {
	s.seq++
	return fmt.Sprintf("ALM-%s-%d", sc.ID, s.seq)
}

// outcome is what the human check of an alarm finds, and how often.
type outcome struct {
	state string  // confirmed, false_alarm or handled; "" for no disposition at all
	share float64 // relative weight
	note  string
}

// dispose schedules the disposition of alarm id, sent by the platform
// after a person checked it, within lo to hi; the outcome is drawn from
// outcomes. An empty state sends nothing: the alarm is never checked.
func (s *Simulator) dispose(sc *school, src engine.Source, id string, now time.Time, lo, hi time.Duration, outcomes []outcome) {
	w := make([]float64, len(outcomes))
	for i, o := range outcomes {
		w[i] = o.share
	}
	o := outcomes[s.r.weighted(w)]
	if o.state == "" {
		return
	}
	s.later(s.after(now, lo, hi), func(now time.Time, _ moment) message {
		ev := disposition{AlarmID: id, State: o.state, Note: o.note}
		ev.envelope = s.envelope(sc, src, "disposition", now, "platform-duty")
		return message{school: sc, source: src, typ: "disposition", body: ev}
	})
}
