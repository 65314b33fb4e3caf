package alert

import (
	"errors"
	"time"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/words"
)

// Status is where an alert is in its life: firing → acknowledged → resolved.
type Status string

// Alert states.
const (
	StatusFiring       Status = "firing"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Statuses lists the states in the order of an alert's life.
var Statuses = []Status{StatusFiring, StatusAcknowledged, StatusResolved}

// Chinese names the status for people.
func (s Status) Chinese() string {
	switch s {
	case StatusFiring:
		return "待处置"
	case StatusAcknowledged:
		return "已确认"
	case StatusResolved:
		return "已解除"
	}
	return string(s)
}

// Actions of an alert's history.
const (
	ActionOpened       = "opened"       // the school's colour rose or a high risk appeared
	ActionRaised       = "raised"       // the colour rose further while the alert lasted
	ActionNotified     = "notified"     // the first message went out (to the school step)
	ActionRepeated     = "repeated"     // sent again while unacknowledged
	ActionEscalated    = "escalated"    // sent one step up the organisation
	ActionInhibited    = "inhibited"    // not sent: the school is red and this alert is yellow
	ActionAcknowledged = "acknowledged" // a person took it on
	ActionResolved     = "resolved"     // the colour fell back, or a person resolved it
)

// Alert is one warning to people about one school: opened when its colour
// rose or a new high risk appeared, updated while it lasts, resolved when
// the colour falls back or a person resolves it.
type Alert struct {
	ID         string        `json:"id"`
	SchoolID   string        `json:"school_id"`
	SchoolName string        `json:"school_name"`
	District   string        `json:"district"`
	Town       string        `json:"town"`
	Level      engine.Level  `json:"level"`
	Status     Status        `json:"status"`
	Rule       string        `json:"rule"`
	RiskKey    string        `json:"risk_key,omitempty"`
	Source     engine.Source `json:"source,omitempty"`
	// RiskLevel is the level of the risk that opened the alert.
	RiskLevel engine.Severity `json:"risk_level,omitempty"`
	Title     string          `json:"title"`
	Cause     string          `json:"cause"`
	OpenedAt  time.Time       `json:"opened_at"`
	UpdatedAt time.Time       `json:"updated_at"`

	AcknowledgedAt time.Time `json:"acknowledged_at"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at"`
	ResolvedBy     string    `json:"resolved_by,omitempty"`

	// Step is how far up the organisation the alert has gone
	// (notify.StepSchool … notify.StepCity).
	Step int `json:"escalation_step"`
	// NotifiedAt is when the last message about the alert went out (first,
	// repeat or escalation); zero while the first is still to be sent.
	NotifiedAt time.Time `json:"notified_at"`
	// StepAt is when the alert reached its step, or was opened or raised
	// (the manager's clock): the escalation delay counts from it.
	StepAt time.Time `json:"step_at"`

	History []Entry `json:"history"`
}

// Entry is one step of an alert's history: who did what, when, and why.
type Entry struct {
	At      time.Time `json:"at"`
	Action  string    `json:"action"`
	By      string    `json:"by,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Step    int       `json:"step"`
}

// Active reports whether the alert still lasts.
func (a *Alert) Active() bool { return a.Status != StatusResolved }

func (a *Alert) record(at time.Time, action, by, comment string) {
	a.History = append(a.History, Entry{At: at, Action: action, By: by, Comment: comment, Step: a.Step})
	a.UpdatedAt = at
}

func (a *Alert) clone() *Alert {
	c := *a
	c.History = append([]Entry(nil), a.History...)
	return &c
}

// item is the alert as one entry of a message; sources names its source.
func (a *Alert) item(sources *event.Contract) notify.Item {
	status := string(a.Status)
	it := notify.Item{
		AlertID: a.ID, Level: a.Level, Status: status, Rule: a.Rule, Source: a.Source,
		Title: a.Title, Cause: a.Cause, StartsAt: a.OpenedAt, EndsAt: a.ResolvedAt,
	}
	if a.Source != "" {
		it.SourceName = sources.Title(a.Source, false)
	}
	if a.RiskLevel != "" {
		it.Details = append(it.Details, notify.Detail{Label: "风险等级", Value: words.Severity(a.RiskLevel, words.Chinese)})
	}
	if a.Source == engine.SourceBullying && a.RiskKey != "" {
		// The pupil's pseudonymous reference: shown only to receivers that
		// reveal student details (notify.md), hidden from every other.
		it.Details = append(it.Details, notify.Detail{Label: "涉及学生编号", Value: a.RiskKey, Sensitive: notify.SensitiveStudent})
	}
	return it
}

// Errors of the people's actions.
var (
	// ErrNotFound: no alert has that id.
	ErrNotFound = errors.New("no such alert")
	// ErrResolved: the alert is already resolved.
	ErrResolved = errors.New("the alert is already resolved")
	// ErrNeedsBy: the action needs the name of the person taking it.
	ErrNeedsBy = errors.New(`"by" is required: who takes this action`)
	// ErrNeedsComment: resolving needs a comment saying what was done.
	ErrNeedsComment = errors.New(`"comment" is required to resolve an alert: what was done`)
)
