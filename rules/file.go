package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is a parsed rule file, before compilation: every value is kept with
// its YAML node so that later errors can point at it.
type File struct {
	Name     string
	Rules    []RuleNode
	Policy   []RuleNode
	Params   *yaml.Node // mapping of name → value, nil when absent
	Calendar *yaml.Node // mapping, nil when absent
	Grades   *yaml.Node // mapping of grade → level, nil when absent
	src      []string   // lines, for locating errors inside block scalars
}

// RuleNode is one rule as written.
type RuleNode struct {
	Line, Column int
	Fields       map[string]*yaml.Node
}

// ruleFields are the keys a rule may have, with a short description used in
// error messages.
var ruleFields = map[string]string{
	"id":          "unique rule id, e.g. visitor.blacklist_entry",
	"source":      "the source of the events the rule reads, one declared by the event contract (visitor, canteen …)",
	"type":        "an event type of the source, or a list of them",
	"when":        "a boolean expression",
	"key":         "an expression grouping risks within a school, e.g. event.water_body",
	"level":       "high, medium or low, or an expression returning one of them",
	"grade":       "the four-grade level I, II, III or IV (红/橙/黄/蓝), mapped to a level by `grades`",
	"for":         "how long the risk stays active after the last matching event, e.g. 24h",
	"clear_when":  "a boolean expression; a matching event for which it holds ends the risk",
	"resolve":     "`person`: the risk lasts until a person resolves it (the default for a high rule without for or clear_when)",
	"window":      "a sliding window: size, lateness, value, distinct, having",
	"absent":      "an absence check: by (a daily deadline HH:MM) or for (a duration), on, entities",
	"title":       "the risk's title for people, with ${expression} placeholders",
	"description": "the risk's description for people, with ${expression} placeholders",
	"provenance":  "the regulation or practice the rule encodes",
	"hazard":      "open a hidden hazard (隐患) to rectify: category, deadline, responsible; the risk lasts until the hazard is verified",
}

// policyFields are the keys a level policy entry may have.
var policyFields = map[string]string{
	"id":          "unique policy id",
	"when":        "a boolean expression over `risks` and `school`",
	"level":       "the colour the school takes when it holds: red or yellow",
	"reason":      "the reason for people",
	"provenance":  "the regulation or practice the policy encodes",
	"description": "a longer explanation",
}

// topLevel are the keys a rule file may have.
const topLevel = "`params`, `calendar`, `grades`, `rules` or `policy`"

// ParseFile parses a rule file. It returns every structural problem at once;
// expressions are checked later by Compile.
func ParseFile(name string, data []byte) (*File, []error) {
	f := &File{Name: name, src: strings.Split(string(data), "\n")}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file (or only comments) holds no rules
		}
		return nil, []error{yamlError(name, err)}
	}
	if len(doc.Content) == 0 {
		return f, nil // an empty file holds no rules
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, []error{&Error{File: name, Line: root.Line, Column: root.Column, Msg: "expected a mapping with a `rules` list"}}
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "rules":
			f.Rules, errs = parseEntries(name, v, "rules", ruleFields, errs)
		case "policy":
			f.Policy, errs = parseEntries(name, v, "policy", policyFields, errs)
		case "params", "calendar", "grades":
			if v.Kind != yaml.MappingNode {
				errs = append(errs, &Error{File: name, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("`%s` must be a mapping", k.Value)})
				continue
			}
			switch k.Value {
			case "params":
				f.Params = v
			case "calendar":
				f.Calendar = v
			default:
				f.Grades = v
			}
		default:
			errs = append(errs, &Error{File: name, Line: k.Line, Column: k.Column, Msg: fmt.Sprintf("unknown key %q, expected %s", k.Value, topLevel)})
		}
	}
	return f, errs
}

// parseEntries parses a list of mappings (rules or policy entries), checking
// their keys against fields.
func parseEntries(name string, list *yaml.Node, what string, fields map[string]string, errs []error) ([]RuleNode, []error) {
	if list.Kind != yaml.SequenceNode {
		return nil, append(errs, &Error{File: name, Line: list.Line, Column: list.Column, Msg: fmt.Sprintf("`%s` must be a list", what)})
	}
	var out []RuleNode
	for _, rn := range list.Content {
		if rn.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: name, Line: rn.Line, Column: rn.Column, Msg: "an entry must be a mapping of fields"})
			continue
		}
		r := RuleNode{Line: rn.Line, Column: rn.Column, Fields: map[string]*yaml.Node{}}
		id := ""
		for i := 0; i+1 < len(rn.Content); i += 2 {
			if rn.Content[i].Value == "id" {
				id = rn.Content[i+1].Value
			}
		}
		for i := 0; i+1 < len(rn.Content); i += 2 {
			k, v := rn.Content[i], rn.Content[i+1]
			if _, ok := fields[k.Value]; !ok {
				errs = append(errs, &Error{File: name, Rule: id, Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("unknown field %q, expected one of %s", k.Value, keyList(fields))})
				continue
			}
			if _, dup := r.Fields[k.Value]; dup {
				errs = append(errs, &Error{File: name, Rule: id, Line: k.Line, Column: k.Column, Msg: fmt.Sprintf("field %q given twice", k.Value)})
				continue
			}
			r.Fields[k.Value] = v
		}
		out = append(out, r)
	}
	return out, errs
}

func keyList(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func yamlError(name string, err error) error {
	msg := err.Error()
	// yaml.v3 reports "yaml: line N: …"; keep the line as a position.
	var line int
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg[len("yaml: "):], ":")+len("yaml: ")+1:])
		return &Error{File: name, Line: line, Msg: "invalid YAML: " + msg}
	}
	return &Error{File: name, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// position returns the file position of the character at (line, col) of an
// expression (both 1-based) written in node v.
func (f *File) position(v *yaml.Node, line, col int) (int, int) {
	switch v.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the indicator, indented.
		l := v.Line + line
		indent := 0
		if l-1 < len(f.src) {
			s := f.src[l-1]
			indent = len(s) - len(strings.TrimLeft(s, " "))
		}
		return l, indent + col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line == 1 {
			return v.Line, v.Column + col
		}
	default:
		if line == 1 {
			return v.Line, v.Column + col - 1
		}
	}
	return v.Line + line - 1, col
}
