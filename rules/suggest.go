package rules

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/sanse-campus/sanse/engine"
)

// explain rewrites expr's messages in the terms rule authors use: `event`
// and `school` rather than Go type names, with a suggestion for a misspelt
// field.
func explain(msg string) string {
	for typ, name := range map[string]string{"engine.Event": "event", "engine.School": "school"} {
		prefix := "type " + typ + " has no field "
		if field, ok := strings.CutPrefix(msg, prefix); ok {
			msg = fmt.Sprintf("unknown field %s.%s", name, field)
			if s := suggest(field, fieldNames(name)); s != "" {
				msg += fmt.Sprintf(" (did you mean %s.%s?)", name, s)
			}
			return msg
		}
	}
	return msg
}

// fieldNames returns the expression names of the fields of `event` or `school`.
func fieldNames(of string) []string {
	var t reflect.Type
	if of == "event" {
		t = reflect.TypeOf(engine.Event{})
	} else {
		t = reflect.TypeOf(engine.School{})
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// suggest returns the name closest to s within two edits, or "".
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
