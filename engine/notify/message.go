package notify

import (
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// Kind says why a message is sent.
type Kind string

// Message kinds.
const (
	KindFiring      Kind = "firing"      // a new alert (or a group of them)
	KindRepeat      Kind = "repeat"      // still firing and unacknowledged, sent again
	KindEscalation  Kind = "escalation"  // unacknowledged after the delay: sent one step up the organisation
	KindResolved    Kind = "resolved"    // the colour fell back
	KindSupervision Kind = "supervision" // 挂牌督办: an overdue hazard reported to the district
	KindReport      Kind = "report"      // an inspection report (排查报告): its summary, a link, its files
)

// Item statuses.
const (
	StatusFiring       = "firing"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Item is one alert in a message; a message groups a burst at one school.
type Item struct {
	AlertID string
	Level   engine.Level
	Status  string // StatusFiring, StatusAcknowledged or StatusResolved
	Rule    string
	Source  engine.Source // "" when the alert has none
	// SourceName is the source's name for people, Chinese (防溺水), from
	// its declaration; when empty the renderers name a built-in source
	// and show any other as it is.
	SourceName string
	Title      string // one line, Chinese
	Cause      string // the cause in one sentence, Chinese
	StartsAt   time.Time
	EndsAt     time.Time // zero while firing
	// Details are extra facts; the Sensitive ones are subject to the
	// receiver's redaction. Title and Cause are never redacted, so they
	// must not name people.
	Details []Detail
}

// Detail is one labelled fact, e.g. {"访客", "张**（3304**********123X）", SensitiveVisitor}.
type Detail struct {
	Label     string
	Value     string
	Sensitive Sensitivity
}

// Sensitivity classifies a detail that names or identifies a person.
type Sensitivity string

// Sensitivity classes. A detail with any other non-empty class is hidden
// from every receiver.
const (
	SensitiveNone     Sensitivity = ""
	SensitiveVisitor  Sensitivity = "visitor"  // a visitor at the gate, already masked upstream
	SensitiveStudent  Sensitivity = "student"  // a pupil (bullying, drowning)
	SensitiveReporter Sensitivity = "reporter" // whoever reported a case
)

// Message is one notification to one receiver.
type Message struct {
	// ID is unique per notification; receivers can de-duplicate on it.
	ID         string
	Kind       Kind
	SchoolID   string
	SchoolName string
	District   string
	Town       string
	Level      engine.Level // the school's colour now
	// Step is the escalation step (0 school, 1 town or centre school,
	// 2 district safety office, 3 city) and StepName its name; an empty
	// StepName is taken from StepName(Step).
	Step     int
	StepName string
	Items    []Item
	URL      string // link to the school on the map (to the report for KindReport), may be ""
	At       time.Time
	// Report is the report of a KindReport message; nil otherwise.
	Report *Report `json:",omitempty"`
}

// Escalation steps.
const (
	StepSchool   = 0
	StepTown     = 1
	StepDistrict = 2
	StepCity     = 3
)

// StepName returns the default name of an escalation step, or "" for an
// unknown step.
func StepName(step int) string {
	switch step {
	case StepSchool:
		return "学校"
	case StepTown:
		return "乡镇（中心校）"
	case StepDistrict:
		return "区县教育局安全科"
	case StepCity:
		return "市教育局"
	}
	return ""
}

func (m *Message) stepName() string {
	if m.StepName != "" {
		return m.StepName
	}
	return StepName(m.Step)
}

// clone returns a copy of m whose items and details can be changed without
// touching m.
func (m *Message) clone() *Message {
	c := *m
	c.Items = make([]Item, len(m.Items))
	for i, it := range m.Items {
		it.Details = append([]Detail(nil), it.Details...)
		c.Items[i] = it
	}
	return &c
}
