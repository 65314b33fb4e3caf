package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// TestConfigCheckCalendarCoverage: a calendar that does not cover the next
// 30 days is a warning line of `sanse config check`, not an error.
func TestConfigCheckCalendarCoverage(t *testing.T) {
	const rule = `rules:
  - id: canteen.no_sample
    source: canteen
    type: sample
    absent: {by: "13:00", on: school.canteen and schoolDay(now)}
    level: medium
    title: 未登记留样
`
	tests := []struct {
		name     string
		calendar string
		want     string
	}{
		{name: "ended", calendar: "calendar: {covers_until: 2000-01-01}\n",
			want: "warning: the school calendar ended on 2000-01-01: absence checks that depend on it (schoolDay, classTime) are not run"},
		{name: "covered", calendar: "calendar: {covers_until: 2999-12-31}\n", want: "calendar: covers until 2999-12-31\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rule), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "calendar.yaml"), []byte(tt.calendar), 0o600))
			var out, errOut bytes.Buffer
			code := run([]string{"config", "check", "--skip-registry", "--rules.dir", dir}, &out, &errOut)
			require.Equal(t, 0, code, errOut.String())
			require.Contains(t, out.String(), tt.want)
			require.Contains(t, out.String(), "configuration OK")
		})
	}
}

// TestConfigCheckSources: `sanse config check` lists every source with its
// topic and where it is declared, and reports each error of a declaration
// with its file and line.
func TestConfigCheckSources(t *testing.T) {
	sources := filepath.Join("..", "..", "testdata", "sources")
	config := filepath.Join(t.TempDir(), "sanse.yaml")
	require.NoError(t, os.WriteFile(config, []byte("kafka:\n  topics:\n    ferry: bus.gps\n    visitor: gate.v2\n"), 0o600))
	var out, errOut bytes.Buffer
	code := run([]string{"config", "check", "--skip-registry", "--config.file", config, "--sources.dir", sources}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var want strings.Builder
	for _, src := range event.Builtin().Sources() {
		topic := src.Topic
		if src.Name == engine.SourceVisitor {
			topic = "gate.v2"
		}
		fmt.Fprintf(&want, "source %s (%s): topic %s, built-in\n", src.Name, src.Title[0], topic)
	}
	fmt.Fprintf(&want, "source ferry (渡船): topic bus.gps, %s\n", filepath.Join(sources, "ferry.yaml"))
	require.Contains(t, out.String(), want.String())
	require.Contains(t, out.String(), "configuration OK")

	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "bus.yaml"), []byte("source: ferry\ntopic: campus.bus\ntitle: 渡船\ntypes:\n  gps: {}\n"), 0o600))
	out.Reset()
	errOut.Reset()
	code = run([]string{"config", "check", "--skip-registry", "--sources.dir", bad}, &out, &errOut)
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), filepath.Join(bad, "bus.yaml")+":3: title: expected {zh: 中文名, en: English name}")
	require.NotContains(t, out.String(), "configuration OK")
}

// TestConfigCheckReportSchedules: `sanse config check` lists each report
// schedule with its next run and receivers, warns of a listed district the
// registry lacks, and refuses a schedule's mistakes with their lines.
func TestConfigCheckReportSchedules(t *testing.T) {
	config := filepath.Join(t.TempDir(), "sanse.yaml")
	require.NoError(t, os.WriteFile(config, []byte(`alerting:
  receivers:
    - name: office
      webhook: {url: "https://hooks.example.org/reports"}
reports:
  schedules:
    - name: district-daily
      cron: "30 7 * * *"
      kind: daily
      districts: [南湖区, 北湖区]
      receivers: [office]
    - name: weekly
      cron: "0 8 * * 1"
      kind: weekly
      schools: [JX-NH-0001]
`), 0o600))
	var out, errOut bytes.Buffer
	code := run([]string{"config", "check", "--config.file", config, "--registry.file", demoRegistry}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Regexp(t, `report schedule district-daily: "30 7 \* \* \*", daily reports of districts 南湖区, 北湖区, next \d{4}-\d\d-\d\d 07:30 CST; receivers: office`, out.String())
	require.Contains(t, out.String(), "warning: report schedule district-daily: the registry has no district:北湖区; no report is made for it")
	require.Regexp(t, `report schedule weekly: "0 8 \* \* 1", weekly reports of schools JX-NH-0001, next \d{4}-\d\d-\d\d 08:00 CST; receivers: none \(archived only\)`, out.String())

	bad := filepath.Join(t.TempDir(), "sanse.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("reports:\n  schedules:\n    - name: a\n      cron: \"30 7 * *\"\n      kind: daily\n      districts: all\n      receivers: [office]\n"), 0o600))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"config", "check", "--config.file", bad, "--registry.file", demoRegistry}, &out, &errOut))
	require.Contains(t, errOut.String(), `line 4: reports.schedules[0] (a).cron: "30 7 * *": expected exactly 5 fields`)
	require.Contains(t, errOut.String(), `line 7: reports.schedules[0] (a).receivers: no receiver is named "office"`)
}
