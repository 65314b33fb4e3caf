package event

import (
	"fmt"
	"slices"
	"strings"
)

// Markdown returns the contract's sources, types and fields as the tables
// of docs/events.md, which holds them between generated markers: a test
// keeps the file equal to the built-in contract, and `sanse sources doc`
// prints them for a district's own declarations.
func (c *Contract) Markdown() string {
	var b strings.Builder
	b.WriteString("| source | default topic | name | what it carries |\n| --- | --- | --- | --- |\n")
	for _, s := range c.sources {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s / %s | %s |\n", s.Name, s.Topic, s.Title[0], s.Title[1], cell(s.Doc))
	}
	for _, s := range c.sources {
		fmt.Fprintf(&b, "\n### %s\n\n", s.Name)
		fmt.Fprintf(&b, "%s (%s). Topic `%s`; declared in `%s`.\n", s.Title[0], s.Title[1], s.Topic, s.File)
		if s.AnonymousField != nil {
			fmt.Fprintf(&b, "A report whose `%s` is %s, or whose `reporter` is `anonymous`, is kept with the reporter `anonymous` only.\n",
				s.AnonymousField.Name, codes(s.AnonymousValues, " or "))
		}
		b.WriteString("\n| type | required | optional | notes |\n| --- | --- | --- | --- |\n")
		var common []*Field
		for _, f := range s.Fields {
			if f.Common {
				common = append(common, f)
			}
		}
		for _, t := range s.Types {
			var opt []string
			for _, f := range t.Fields {
				if !slices.Contains(t.Required, f) {
					opt = append(opt, f.Name)
				}
			}
			for _, f := range common {
				if !slices.Contains(t.Fields, f) {
					opt = append(opt, f.Name)
				}
			}
			var req []string
			for _, f := range t.Required {
				req = append(req, f.Name)
			}
			note := t.Doc
			if t.Alarm {
				note = strings.TrimSpace(note + "; an alarm")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Name, codes(req, ", "), codes(opt, ", "), cell(note))
		}
		b.WriteString("\n| field | type | values | personal | notes |\n| --- | --- | --- | --- | --- |\n")
		for _, f := range s.Fields {
			var vals []string
			for _, v := range f.Values {
				if l := f.Labels[v]; l != "" {
					v = fmt.Sprintf("`%s` (%s)", v, l)
				} else {
					v = "`" + v + "`"
				}
				vals = append(vals, v)
			}
			var pers string
			switch f.Personal {
			case PersonalHash:
				pers = fmt.Sprintf("hash: rules read `%s` and `%s`", f.HashAs, f.MaskedAs)
			case PersonalMask:
				pers = "mask"
			case PersonalDrop:
				pers = "drop"
			}
			note := f.Doc
			if f.Default != "" {
				note = strings.TrimSpace(fmt.Sprintf("%s; `%s` when absent", note, f.Default))
			}
			if f.MaxLen > 0 {
				note = strings.TrimSpace(fmt.Sprintf("%s; at most %d bytes", note, f.MaxLen))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.Kind, strings.Join(vals, ", "), pers, cell(note))
		}
	}
	return b.String()
}

func codes(names []string, sep string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return strings.Join(out, sep)
}

// cell makes text fit one table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
