package engine

import (
	"errors"
	"fmt"
	"time"
)

// Open applies one match made outside the rule set — a hazard an inspector
// registered, or its escalation when it goes overdue — to a school at time
// at, exactly as Apply applies a rule's match: it opens the risk of m.Rule and
// m.Key, or updates it (a risk keeps its most serious level), and appends the
// transition and any colour change to out. There is no event: the transition
// carries no event id and m.Source is the risk's source.
//
// A match that should hold the school's colour until a person acts sets
// Manual. Open returns an error when the school is not in the registry or
// the match has no rule or no valid severity; the engine is then unchanged.
// Like Apply, a match from before a person resolved the same risk does not
// open it again.
func (e *Engine) Open(schoolID string, m Match, at time.Time, out *Output) error {
	if m.Rule == "" {
		return errors.New("open: the match has no rule")
	}
	if !m.Clear {
		if _, err := ParseSeverity(string(m.Severity)); err != nil {
			return fmt.Errorf("open %s: %w", m.Rule, err)
		}
	}
	school := e.registry().School(schoolID)
	if school == nil {
		return fmt.Errorf("school %q is not in the registry", schoolID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.noteChanges(out, out.Len())
	st := e.state(schoolID)
	e.applyMatches(school, st, m.Source, at, nil, []Match{m}, out)
	return nil
}
