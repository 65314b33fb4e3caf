package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// Supervision is an overdue hazard put under supervision (挂牌督办).
type Supervision struct {
	HazardID, SchoolID string
	// Title is the hazard's title.
	Title string
	// Deadline is when the hazard should have been rectified; At when it
	// went under supervision.
	Deadline, At time.Time
}

// supervisionPrefix begins the id of the alert that stands for a hazard in
// the message putting it under supervision; the rest is the hazard's id.
// That alert is not kept: its message links to the hazard.
const supervisionPrefix = "hazard:"

// Supervise reports an overdue hazard to the district (挂牌督办): one
// message of kind supervision to the district's contact, stored and
// delivered like every other. It must not be called under a lock that
// Observe's caller holds.
func (m *Manager) Supervise(ctx context.Context, s Supervision) error {
	reg := m.opts.Registry()
	title, cause := supervisionText(s)
	m.mu.Lock()
	a := m.newAlert(reg, supervisionPrefix+s.HazardID, s.SchoolID, m.opts.Level(s.SchoolID), s.At, cause)
	a.Title, a.Rule = title, "hazard"
	for _, name := range m.receivers(a, notify.StepDistrict) {
		m.message(notify.KindSupervision, name, notify.StepDistrict, []*Alert{a}, s.At)
	}
	m.mu.Unlock()
	return m.flush(ctx)
}

// supervisionText returns the title and cause of the message that puts an
// overdue hazard under supervision (挂牌督办).
func supervisionText(s Supervision) (title, cause string) {
	return "隐患逾期未整改（挂牌督办）：" + s.Title,
		fmt.Sprintf("隐患“%s”已超过整改期限（%s），挂牌督办", s.Title, s.Deadline.In(engine.Shanghai).Format("2006-01-02 15:04"))
}
