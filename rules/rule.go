package rules

import (
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// DefaultFor is how long a risk stays active when a rule gives neither
// `for` nor `clear_when`.
const DefaultFor = 24 * time.Hour

// DefaultLateness is how late an event may arrive and still count in a
// window, unless the window says otherwise.
const DefaultLateness = 10 * time.Minute

// minHorizon is the least span of stored events replayed on start.
const minHorizon = 24 * time.Hour

// Rule is one compiled rule.
type Rule struct {
	ID         string
	Source     engine.Source
	Types      []string // empty: every type of the source
	Level      engine.Severity
	Grade      string
	For        time.Duration // 0: until cleared
	Manual     bool          // the risk lasts until a person resolves it
	Provenance string
	File       string
	Line       int
	Window     *WindowSpec
	Absent     *AbsenceSpec
	// Hazard, when set, makes each risk the rule opens a hidden hazard to
	// rectify (engine/hazard); the risk lasts until the hazard is verified.
	Hazard *HazardSpec
	// Text keeps the expressions as written, for listing.
	When, Key, ClearWhen, LevelExpr, Title, Description string

	// src is the declaration of Source the rule was compiled against.
	src                     *event.Source
	when, key, clear, level *vm.Program
	title, desc             template
	windowKey               string
	fast                    *ruleFast // the native forms, shared by copies of the rule
}

// WindowSpec is a rule's sliding event-time window.
type WindowSpec struct {
	Size     time.Duration // 0 with Today: since local midnight
	Today    bool
	Lateness time.Duration
	// Value is summed (and its min and max kept), Distinct counted; Having
	// decides whether the window matches.
	Value, Distinct, Having string

	value, distinct, having *vm.Program
}

// HazardSpec is a rule's `hazard` section: what the hazard it opens is.
type HazardSpec struct {
	Category    string        // e.g. 防溺水, 食品安全
	Deadline    time.Duration // the time given to rectify it
	Responsible string        // who rectifies it; "" leaves it to the school
}

// span returns the window's size for an event at t.
func (w *WindowSpec) span(t time.Time) time.Duration {
	if w.Today {
		return t.Sub(midnight(t)) + time.Nanosecond
	}
	return w.Size
}

// AbsenceSpec is a rule's absence check (隐患排查): a matching event that
// does not arrive by a daily deadline, or for a duration.
type AbsenceSpec struct {
	By       time.Duration // offset of the daily deadline from local midnight; 0 when For is used
	For      time.Duration // how long without a matching event
	On       string        // when the check applies, e.g. schoolDay(now) and school.canteen
	Entities string        // the keys checked, e.g. school.water_bodies; one check per school when empty

	on, entities *vm.Program
}

// Policy is one entry of the level policy: a condition over a school's
// active risks that raises its colour.
type Policy struct {
	ID, When, Reason, Provenance string
	Level                        engine.Level
	File                         string
	Line                         int

	when *vm.Program
	fast func(*PolicyEnv) bool // the native form of when, nil on the VM
}
