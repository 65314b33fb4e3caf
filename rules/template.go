package rules

import (
	"strings"

	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// template is text with ${expression} placeholders, each compiled once.
type template struct {
	parts []templatePart
}

type templatePart struct {
	text string
	prog *vm.Program // nil for literal text
}

func (c *compiler) template(f *File, rule, field string, v *yaml.Node, forbidden map[string]string, env any) (template, []error) {
	var (
		t    template
		errs []error
	)
	src := v.Value
	runeOffset := 0 // runes of src before rest
	for rest := src; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.parts = append(t.parts, templatePart{text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{text: rest[:i]})
		}
		runeOffset += len([]rune(rest[:i])) + 2
		end := strings.Index(rest[i+2:], "}")
		if end < 0 {
			line, col := f.position(v, 1, runeOffset-1)
			errs = append(errs, &Error{File: f.Name, Rule: rule, Line: line, Column: col, Field: field, Msg: "placeholder `${` is not closed by `}`"})
			break
		}
		code := rest[i+2 : i+2+end]
		prog, err := c.compile(f, rule, field, v, code, runeOffset, forbidden, env)
		if err != nil {
			errs = append(errs, err)
		}
		t.parts = append(t.parts, templatePart{prog: prog})
		runeOffset += len([]rune(code)) + 1
		rest = rest[i+2+end+1:]
	}
	return t, errs
}
