package rules

import (
	"fmt"
	"strings"
)

// Error is one problem found in a rule file, located by file, rule, line and
// column (both 1-based; 0 when unknown).
type Error struct {
	File   string
	Rule   string // the rule id, "" for problems outside a rule
	Line   int
	Column int
	Field  string // the rule field, e.g. "when"
	Msg    string
	// Err is the error the problem was found as, e.g. expr's *file.Error
	// for an expression that does not compile; nil when Sanse found it.
	Err error
}

// Unwrap returns the underlying error, so that errors.As finds expr's
// *file.Error (its message and snippet) behind a located rule error.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
