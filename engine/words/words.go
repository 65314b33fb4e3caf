// Package words renders the engine's records as sentences for people, in
// Chinese (the default everywhere people read: the page, notifications,
// reports, the stored history) and in English (the page's English view). It
// is the one place such sentences are made: the API, the notifications, the
// alerts and the store's history all call it, so a cause reads the same
// wherever it is shown.
//
// It leaves out layout (markdown, HTML, JSON): callers place the words. It
// leaves out the names of event sources too: each source's declaration
// names it (event.Contract.Title), so that a source declared in a file is
// named like a built-in one.
package words

import (
	"strings"

	"github.com/sanse-campus/sanse/engine"
)

// Lang is a language people read.
type Lang string

// Languages.
const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// pair is a name in both languages.
type pair struct{ zh, en string }

// name returns the name of v in lang from names, or v itself when names has
// none (a value the tables do not know yet).
func name[T ~string](names map[T]pair, v T, lang Lang) string {
	p, ok := names[v]
	switch {
	case !ok:
		return string(v)
	case lang == English:
		return p.en
	}
	return p.zh
}

var (
	levelNames = map[engine.Level]pair{
		engine.LevelRed: {"红色", "Red"}, engine.LevelYellow: {"黄色", "Yellow"}, engine.LevelGreen: {"绿色", "Green"},
	}
	// severityNames are the names in a sentence ("high risk"), severityLabels
	// on a badge ("High"); in Chinese they are the same.
	severityNames = map[engine.Severity]pair{
		engine.SeverityHigh: {"高风险", "high risk"}, engine.SeverityMedium: {"中风险", "medium risk"},
		engine.SeverityLow: {"低风险", "low risk"},
	}
	severityLabels = map[engine.Severity]pair{
		engine.SeverityHigh: {"高风险", "High"}, engine.SeverityMedium: {"中风险", "Medium"}, engine.SeverityLow: {"低风险", "Low"},
	}
	stageNames = map[engine.Stage]pair{
		engine.StageKindergarten: {"幼儿园", "Kindergarten"}, engine.StagePrimary: {"小学", "Primary"},
		engine.StageJunior: {"初中", "Junior secondary"}, engine.StageSenior: {"高中", "Senior secondary"},
		engine.StageVocational: {"职业学校", "Vocational"},
	}
)

// Level returns the name of a colour, e.g. 红色 or Red.
func Level(l engine.Level, lang Lang) string { return name(levelNames, l, lang) }

// Severity returns the name of a risk's severity in a sentence, e.g. 高风险 or
// high risk.
func Severity(s engine.Severity, lang Lang) string { return name(severityNames, s, lang) }

// SeverityLabel returns the short name of a severity on a badge beside other
// words, e.g. 高风险 or High.
func SeverityLabel(s engine.Severity, lang Lang) string { return name(severityLabels, s, lang) }

// Stage returns the name of a school's education stage, e.g. 初中 or Junior
// secondary.
func Stage(s engine.Stage, lang Lang) string { return name(stageNames, s, lang) }

// causeWords are the sentence openings of each way a risk changes a colour.
var causeWords = map[Lang]map[engine.RiskState]string{
	Chinese: {
		engine.RiskCleared:    "风险已解除：",
		engine.RiskRemoved:    "规则已停用，风险解除：",
		engine.RiskResolved:   "已人工处置解除：",
		engine.RiskConfirmed:  "核实确认：",
		engine.RiskFalseAlarm: "核实为误报，风险解除：",
		engine.RiskOverdue:    "逾期未处置，风险升级：",
		engine.RiskExpired:    "风险已到期解除：",
	},
	English: {
		engine.RiskCleared:    "Risk cleared: ",
		engine.RiskRemoved:    "Rule disabled, risk ended: ",
		engine.RiskResolved:   "Resolved by a person: ",
		engine.RiskConfirmed:  "Confirmed on checking: ",
		engine.RiskFalseAlarm: "False alarm on checking, risk ended: ",
		engine.RiskOverdue:    "Overdue, raised: ",
		engine.RiskExpired:    "Risk expired: ",
	},
}

// Cause returns the sentence of what made a colour change, e.g.
// 新增高风险：禁入名单人员进入校园 or "New high risk: …", with the level
// policy's reason and rule when the policy raised the colour. The Chinese
// sentence of a change read back from the history is the one stored with it
// (Cause.Text), as people read it then; a cause stored as a sentence only
// (older history) has no other form in any language.
func Cause(c engine.Cause, lang Lang) string {
	if lang != English {
		lang = Chinese
	}
	if c.How == "" || (lang == Chinese && c.Text != "") {
		return c.Text
	}
	var b strings.Builder
	b.Grow(len(c.Title) + len(c.PolicyReason) + len(c.PolicyRule) + 48)
	switch c.How {
	case engine.RiskOpened:
		if lang == English {
			b.WriteString("New ")
			b.WriteString(Severity(c.Severity, lang))
			b.WriteString(": ")
		} else {
			b.WriteString("新增")
			b.WriteString(Severity(c.Severity, lang))
			b.WriteString("：")
		}
	default:
		w, ok := causeWords[lang][c.How]
		if !ok {
			w = causeWords[lang][engine.RiskExpired]
		}
		b.WriteString(w)
	}
	b.WriteString(c.Title)
	if c.PolicyReason != "" || c.PolicyRule != "" {
		if lang == English {
			b.WriteString("; escalation policy: ")
			b.WriteString(c.PolicyReason)
			b.WriteString(" (")
			b.WriteString(c.PolicyRule)
			b.WriteString(")")
		} else {
			b.WriteString("；升级策略：")
			b.WriteString(c.PolicyReason)
			b.WriteString("（")
			b.WriteString(c.PolicyRule)
			b.WriteString("）")
		}
	}
	return b.String()
}
