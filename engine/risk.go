package engine

import (
	"strconv"
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
	// Pending, when set, opens the risk pending a human check (待核实) at
	// this severity; Severity is what it becomes once confirmed.
	Pending Severity
	// Overdue, when set with OverdueLevel, raises the risk to OverdueLevel
	// when it is still active that long after it opened: a report whose
	// finding (认定) is late, a case nobody closed.
	Overdue      time.Duration
	OverdueLevel Severity
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
	// Pending says that the risk waits for a human check (待核实): a machine
	// detection not yet confirmed. Severity is then the pending level and
	// Full the level it takes once confirmed.
	Pending bool     `json:"pending,omitempty"`
	Full    Severity `json:"full_level,omitempty"`
	// Alarms are the vendor platform's ids of the alarms that opened or
	// updated the risk (the newest MaxEvidence), which disposition events
	// name.
	Alarms []string `json:"alarms,omitempty"`
	// Device is the reporter of the event that opened the risk (a camera,
	// a gate), for false-alarm rates per device.
	Device string `json:"device,omitempty"`
	// OverdueAt is when the risk, still active, rises to OverdueLevel
	// (zero: never); Overdue is set once it has.
	OverdueAt    time.Time `json:"overdue_at,omitzero"`
	OverdueLevel Severity  `json:"-"`
	Overdue      bool      `json:"overdue,omitempty"`
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
	// RiskConfirmed: a pending risk was confirmed by a human check, by a
	// person or the vendor platform; it takes its full level.
	RiskConfirmed RiskState = "confirmed"
	// RiskFalseAlarm: a human check found the detection false (误报); the
	// risk ends and is counted.
	RiskFalseAlarm RiskState = "false_alarm"
	// RiskOverdue: the risk was still active at its OverdueAt and rose to
	// its overdue level.
	RiskOverdue RiskState = "overdue"
)

// RiskTransition records one change of one risk. Its id is derived from
// what caused it (see AppendID), so recomputing the same transition gives
// the same id and the store can drop the repeat.
type RiskTransition struct {
	// ID is the stored id of a transition read back from the store; the
	// engine leaves it empty and AppendID derives it.
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

// Cause is what made a school's colour change, as the engine records it: what
// happened (How) to which risk (Rule, Key, with its Title and Severity), and
// the level policy's rule and reason when the policy raised the colour. The
// engine keeps no sentence: people read causes rendered from these fields in
// their language (package engine/words).
type Cause struct {
	// How is what happened to the risk: opened (or raised), cleared,
	// expired, removed or resolved.
	How RiskState
	// Rule and Key name the risk; Title and Severity are the risk's at the
	// time.
	Rule, Key string
	Title     string
	Severity  Severity
	// PolicyRule and PolicyReason are the level policy's entry and reason
	// when the policy raised the colour above what the risks give.
	PolicyRule, PolicyReason string
	// Text is the sentence stored with a change written before causes were
	// stored field by field; it is empty otherwise, and only set on changes
	// read back from the store.
	Text string
}

// LevelChange records a change of a school's colour and its cause. Its id is
// derived like a transition's (see AppendID).
type LevelChange struct {
	// ID is the stored id of a change read back from the store; the engine
	// leaves it empty and AppendID derives it.
	ID       string
	SchoolID string
	At       time.Time
	From, To Level
	// Cause is what made the colour change; sentences for people are
	// rendered from it where people read them.
	Cause       Cause
	EventID     string // the event that caused it; "" when a risk expired
	ActiveRisks int
	// Seq orders the changes of one engine: it is the engine's count of
	// colour changes when this one was made. Records are written by several
	// writers at once (events, people's acts, hazards), so a later change of
	// a school can reach a subscriber first; Seq tells which is newer. It is
	// not stored, and zero for a change read back from the store.
	Seq uint64
}

// AppendID appends t's id to b: t.ID when set, otherwise the id derived
// from what caused the transition — the event and the risk for an event's
// effect, or the state, the risk and the time for the clock's and people's.
func (t *RiskTransition) AppendID(b []byte) []byte {
	if t.ID != "" {
		return append(b, t.ID...)
	}
	r := &t.Risk
	switch t.State {
	case RiskExpired, RiskRemoved, RiskResolved:
		b = append(b, t.State...)
		b = append(b, ':')
		b = appendRef(b, r.Rule, r.Key)
		b = append(b, ':')
		return strconv.AppendInt(b, t.At.UnixMilli(), 10)
	case RiskCleared:
		b = append(b, "cleared:"...)
	}
	if t.EventID != "" {
		b = append(b, t.EventID...)
	} else {
		b = append(b, "check:"...)
		b = t.At.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, ':')
	return appendRef(b, r.Rule, r.Key)
}

// AppendID appends c's id to b: c.ID when set, otherwise the id derived from
// the event and the risk that caused it, or for a change of the clock's or
// a person's making from what happened to the risk and when.
func (c *LevelChange) AppendID(b []byte) []byte {
	if c.ID != "" {
		return append(b, c.ID...)
	}
	switch how := c.Cause.How; {
	case how == RiskExpired || how == RiskRemoved || how == RiskResolved:
		b = append(b, how...)
	case c.EventID != "":
		b = append(b, c.EventID...)
		b = append(b, ':')
		return appendRef(b, c.Cause.Rule, c.Cause.Key)
	default:
		b = append(b, "check"...)
	}
	b = append(b, ':')
	b = appendRef(b, c.Cause.Rule, c.Cause.Key)
	b = append(b, ':')
	return strconv.AppendInt(b, c.At.UnixMilli(), 10)
}

// RecordID returns t's id (see AppendID).
func (t *RiskTransition) RecordID() string { return string(t.AppendID(nil)) }

// RecordID returns c's id (see AppendID).
func (c *LevelChange) RecordID() string { return string(c.AppendID(nil)) }

// appendRef appends rule, or rule/key when there is a key.
func appendRef(b []byte, rule, key string) []byte {
	b = append(b, rule...)
	if key != "" {
		b = append(b, '/')
		b = append(b, key...)
	}
	return b
}
