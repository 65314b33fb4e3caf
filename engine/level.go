package engine

import (
	"fmt"
	"slices"
)

// Severity is the level of one risk, as a rule assigns it.
type Severity string

// Risk severities, from most to least serious.
const (
	SeverityHigh   Severity = "high"
	SeverityMedium Severity = "medium"
	SeverityLow    Severity = "low"
)

// Severities lists every severity, from most to least serious.
var Severities = []Severity{SeverityHigh, SeverityMedium, SeverityLow}

// ParseSeverity returns the severity named s, or an error naming the accepted values.
func ParseSeverity(s string) (Severity, error) {
	if slices.Contains(Severities, Severity(s)) {
		return Severity(s), nil
	}
	return "", fmt.Errorf("unknown level %q, expected high, medium or low", s)
}

// rank orders severities so that a larger value is more serious.
func (s Severity) rank() int {
	switch s {
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// Level is a school's colour on the warning map (三色预警).
type Level string

// School colours.
const (
	LevelRed    Level = "red"
	LevelYellow Level = "yellow"
	LevelGreen  Level = "green"
)

// Levels lists every colour, from most to least serious.
var Levels = []Level{LevelRed, LevelYellow, LevelGreen}

// ParseLevel returns the colour named s, or an error naming the accepted values.
func ParseLevel(s string) (Level, error) {
	if slices.Contains(Levels, Level(s)) {
		return Level(s), nil
	}
	return "", fmt.Errorf("unknown level %q, expected red, yellow or green", s)
}

// Rank orders colours so that a larger value is more serious.
func (l Level) Rank() int {
	switch l {
	case LevelRed:
		return 3
	case LevelYellow:
		return 2
	case LevelGreen:
		return 1
	}
	return 0
}

// LevelFor returns the colour that a set of active risks gives a school:
// red if any is high, yellow if any is medium, green otherwise.
func LevelFor(max Severity) Level {
	switch max {
	case SeverityHigh:
		return LevelRed
	case SeverityMedium:
		return LevelYellow
	}
	return LevelGreen
}
