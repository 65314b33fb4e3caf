package engine

import (
	"time"
)

// MaxEvidence bounds the evidence event ids kept on one risk; the newest are kept.
const MaxEvidence = 20

// Match is what a rule reports when an event satisfies it.
type Match struct {
	Rule     string
	Key      string // group key within the school, "" when the rule has none
	Severity Severity
	Grade    string // the four-grade level (I–IV) when the rule gives one
	// Title and Description are rendered for people (Chinese first).
	Title       string
	Description string
	// For is how long the risk stays active after the last matching event;
	// 0 keeps it until a clearing match.
	For time.Duration
	// Clear ends the risk of Rule and Key instead of opening it.
	Clear bool
	// Manual keeps the risk until a person resolves it (or a clearing
	// match ends it); For is then ignored.
	Manual bool
	// Source is the risk's source for matches of scheduled checks, which
	// have no event; "" takes the event's.
	Source Source
	// At is when a scheduled check found the risk (e.g. the deadline that
	// passed); zero takes the engine's clock.
	At time.Time
}

// Risk is an active risk at one school: a rule (and group key) that matched
// and whose time has not run out.
type Risk struct {
	Rule        string    `json:"rule"`
	Key         string    `json:"key,omitempty"`
	Source      Source    `json:"source"`
	Severity    Severity  `json:"level"`
	Grade       string    `json:"grade,omitempty"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Count       int       `json:"count"`
	Evidence    []string  `json:"evidence"`
	// Until is when the risk runs out; zero while it lasts until cleared.
	Until time.Time `json:"until"`
	// Manual says that the risk lasts until a person resolves it.
	Manual bool `json:"manual,omitempty"`
}

func (r *Risk) ref() string {
	if r.Key == "" {
		return r.Rule
	}
	return r.Rule + "/" + r.Key
}

// RiskState is what happened to a risk in a transition.
type RiskState string

// Risk transitions.
const (
	RiskOpened   RiskState = "opened"
	RiskUpdated  RiskState = "updated"
	RiskExpired  RiskState = "expired"
	RiskCleared  RiskState = "cleared"
	RiskRemoved  RiskState = "removed"  // its rule was removed by a reload
	RiskResolved RiskState = "resolved" // a person resolved it
)

// RiskTransition records one change of one risk. ID is derived from what
// caused it, so recomputing the same transition gives the same ID and the
// store can drop the repeat.
type RiskTransition struct {
	ID       string
	SchoolID string
	At       time.Time
	State    RiskState
	EventID  string // the event that opened or updated the risk; "" for expiry
	Risk     Risk
	// Actor and Comment say who resolved the risk and why (RiskResolved).
	Actor   string
	Comment string
}

// LevelChange records a change of a school's colour and its cause.
type LevelChange struct {
	ID          string
	SchoolID    string
	At          time.Time
	From, To    Level
	Rule        string // the rule whose risk caused the change
	EventID     string // the event that caused it; "" when a risk expired
	Cause       string // one sentence for people, in Chinese
	ActiveRisks int
}
