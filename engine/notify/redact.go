package notify

import (
	"slices"

	"github.com/sanse-campus/sanse/engine/event"
)

// hides reports whether a receiver with the given redact and reveal lists
// must not see a detail of class s:
//
//   - no class: shown;
//   - visitor (masked upstream): hidden only when listed in redact;
//   - student and reporter: hidden unless listed in reveal (and not in redact);
//   - any other class: always hidden.
func hides(redact, reveal []Sensitivity, s Sensitivity) bool {
	switch s {
	case SensitiveNone:
		return false
	case SensitiveVisitor:
		return slices.Contains(redact, s)
	case SensitiveStudent, SensitiveReporter:
		return slices.Contains(redact, s) || !slices.Contains(reveal, s)
	}
	return true
}

// redactMessage returns a copy of m in which the values of the details the
// receiver must not see are replaced by Redacted, and every ID-card and
// mobile number left in a text is masked (event.MaskText), whatever the
// receiver reveals; m is not changed.
func redactMessage(redact, reveal []Sensitivity, m *Message) *Message {
	c := m.clone()
	for i := range c.Items {
		it := &c.Items[i]
		it.Title, it.Cause = event.MaskText(it.Title), event.MaskText(it.Cause)
		for j := range it.Details {
			d := &it.Details[j]
			if hides(redact, reveal, d.Sensitive) {
				d.Value = Redacted
			}
			d.Label, d.Value = event.MaskText(d.Label), event.MaskText(d.Value)
		}
	}
	if m.Report != nil {
		c.Report = redactReport(redact, reveal, m.Report)
	}
	return c
}
