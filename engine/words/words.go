// Package words renders the engine's records as sentences for people, in
// Chinese (the default everywhere people read: the page, notifications,
// reports, the stored history) and in English (the page's English view). It
// is the one place such sentences are made: the API, the notifications, the
// alerts and the store's history all call it, so a cause reads the same
// wherever it is shown.
//
// It leaves out layout (markdown, HTML, JSON): callers place the words.
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

// Level returns the name of a colour, e.g. 红色 or Red.
func Level(l engine.Level, lang Lang) string {
	if lang == English {
		switch l {
		case engine.LevelRed:
			return "Red"
		case engine.LevelYellow:
			return "Yellow"
		case engine.LevelGreen:
			return "Green"
		}
		return string(l)
	}
	switch l {
	case engine.LevelRed:
		return "红色"
	case engine.LevelYellow:
		return "黄色"
	case engine.LevelGreen:
		return "绿色"
	}
	return string(l)
}

// Severity returns the name of a risk's severity, e.g. 高风险 or high risk.
func Severity(s engine.Severity, lang Lang) string {
	if lang == English {
		switch s {
		case engine.SeverityHigh, engine.SeverityMedium, engine.SeverityLow:
			return string(s) + " risk"
		}
		return string(s)
	}
	switch s {
	case engine.SeverityHigh:
		return "高风险"
	case engine.SeverityMedium:
		return "中风险"
	case engine.SeverityLow:
		return "低风险"
	}
	return string(s)
}

// SeverityLabel returns the short name of a severity on a badge beside other
// words, e.g. 高风险 or High: in Chinese the word Severity gives, in English
// without the "risk" a sentence needs.
func SeverityLabel(s engine.Severity, lang Lang) string {
	if lang != English {
		return Severity(s, lang)
	}
	switch s {
	case engine.SeverityHigh:
		return "High"
	case engine.SeverityMedium:
		return "Medium"
	case engine.SeverityLow:
		return "Low"
	}
	return string(s)
}

// Stage returns the name of a school's education stage, e.g. 初中 or Junior
// secondary.
func Stage(s engine.Stage, lang Lang) string {
	if lang == English {
		switch s {
		case engine.StageKindergarten:
			return "Kindergarten"
		case engine.StagePrimary:
			return "Primary"
		case engine.StageJunior:
			return "Junior secondary"
		case engine.StageSenior:
			return "Senior secondary"
		case engine.StageVocational:
			return "Vocational"
		}
		return string(s)
	}
	switch s {
	case engine.StageKindergarten:
		return "幼儿园"
	case engine.StagePrimary:
		return "小学"
	case engine.StageJunior:
		return "初中"
	case engine.StageSenior:
		return "高中"
	case engine.StageVocational:
		return "职业学校"
	}
	return string(s)
}

// Source returns the name of an event source, e.g. 防溺水 or Drowning.
func Source(s engine.Source, lang Lang) string {
	if lang == English {
		switch s {
		case engine.SourceVisitor:
			return "Visitors"
		case engine.SourceCanteen:
			return "Canteen"
		case engine.SourceDrowning:
			return "Drowning"
		case engine.SourceBullying:
			return "Bullying"
		}
		return string(s)
	}
	switch s {
	case engine.SourceVisitor:
		return "外来人员"
	case engine.SourceCanteen:
		return "食堂"
	case engine.SourceDrowning:
		return "防溺水"
	case engine.SourceBullying:
		return "校园欺凌"
	}
	return string(s)
}

// causeWords are the sentence openings of each way a risk changes a colour.
var causeWords = map[Lang]map[engine.RiskState]string{
	Chinese: {
		engine.RiskCleared:  "风险已解除：",
		engine.RiskRemoved:  "规则已停用，风险解除：",
		engine.RiskResolved: "已人工处置解除：",
		engine.RiskExpired:  "风险已到期解除：",
	},
	English: {
		engine.RiskCleared:  "Risk cleared: ",
		engine.RiskRemoved:  "Rule disabled, risk ended: ",
		engine.RiskResolved: "Resolved by a person: ",
		engine.RiskExpired:  "Risk expired: ",
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
