package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/rules/ruletest"
)

// TestBeyondCoverage holds the behaviour beyond the calendar's coverage: an
// event rule still takes a weekday in a term for a school day, an absence
// check is not run.
func TestBeyondCoverage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("calendar.yaml", `calendar:
  covers_until: 2026-12-31
  terms: [{from: 2026-09-01, to: 2027-01-29}]
`)
	write("rules.yaml", `rules:
  - id: visitor.unverified_school_day
    source: visitor
    type: entry
    when: not event.id_verified and schoolDay(event.occurred_at)
    level: medium
    for: 12h
    title: 未核验访客
    provenance: test
  - id: canteen.no_sample
    source: canteen
    type: sample
    absent: {by: "13:00", on: school.canteen and schoolDay(now)}
    level: medium
    title: 未登记留样
    provenance: test
`)
	test := `tests:
  - name: the last covered day
    events:
      - {at: 2026-12-31T08:00:00+08:00, event: {source: visitor, type: entry, visitor_id: V1, id_verified: false, watchlist: none, gate: 东门}}
    expect:
      - at: 2026-12-31T13:00:01+08:00
        level: yellow
        risks: [{rule: visitor.unverified_school_day, level: medium}, {rule: canteen.no_sample, level: medium}]
  - name: the first uncovered weekday
    events:
      - {at: 2027-01-04T12:30:00+08:00, event: {source: visitor, type: entry, visitor_id: V1, id_verified: false, watchlist: none, gate: 东门}}
    expect:
      - at: 2027-01-04T13:00:01+08:00
        level: yellow
        risks: [{rule: visitor.unverified_school_day, level: medium}]
`
	write("coverage_test.yaml", test)
	results, err := ruletest.RunPath(filepath.Join(dir, "coverage_test.yaml"))
	require.NoError(t, err)
	require.Len(t, results, 2)
	for _, r := range results {
		require.Empty(t, r.Failures, r.Test)
	}
}
