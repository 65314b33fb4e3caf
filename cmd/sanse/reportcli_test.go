package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store/storetest"
)

// demoRegistry is the demo district's registry, from this directory.
var demoRegistry = filepath.Join("..", "..", "testdata", "registry", "demo.csv")

// TestReportCommandErrors checks what `sanse report` says of a command
// line it cannot carry out, before it reaches ClickHouse.
func TestReportCommandErrors(t *testing.T) {
	reg := []string{"--registry.file", demoRegistry}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "no scope", args: []string{"--from", "2026-11-01", "--to", "2026-11-30"}, code: 1,
			want: "sanse report: --district NAME or --school ID is required: a report covers a district or one school"},
		{name: "two scopes", args: []string{"--district", "南湖区", "--school", "JX-NH-0001", "--from", "2026-11-01", "--to", "2026-11-30"}, code: 1,
			want: "give --district or --school, not both"},
		{name: "unknown format", args: []string{"--district", "南湖区", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "docx"}, code: 1,
			want: `--format: unknown report format "docx" (expected html, csv or pdf)`},
		{name: "unknown kind", args: []string{"--district", "南湖区", "--kind", "yearly"}, code: 1,
			want: `--kind: unknown report kind "yearly" (expected daily, weekly, monthly or custom)`},
		{name: "a custom report without its period", args: []string{"--district", "南湖区", "--from", "2026-11-01"}, code: 1,
			want: "--from and --to are required for a custom report: the first and the last day, e.g. --from 2026-11-01 --to 2026-11-30"},
		{name: "not a date", args: append([]string{"--district", "南湖区", "--from", "2026/11/01", "--to", "2026-11-30"}, reg...), code: 1,
			want: `--from "2026/11/01": expected a date such as 2026-11-01`},
		{name: "backwards", args: append([]string{"--district", "南湖区", "--from", "2026-11-30", "--to", "2026-11-01"}, reg...), code: 1,
			want: "--to 2026-11-01 is before --from 2026-11-30"},
		{name: "a week from a Tuesday", args: append([]string{"--district", "南湖区", "--kind", "weekly", "--from", "2026-11-03"}, reg...), code: 1,
			want: "--from 2026-11-03: a weekly report begins on 2026-11-02; use --kind custom for any other period"},
		{name: "a month that ends early", args: append([]string{"--district", "南湖区", "--kind", "monthly", "--from", "2026-11-01", "--to", "2026-11-15"}, reg...), code: 1,
			want: "a monthly report from 2026-11-01 ends on 2026-11-30, not 2026-11-15"},
		{name: "the future", args: append([]string{"--district", "南湖区", "--from", "2026-11-01", "--to", time.Now().In(engine.Shanghai).AddDate(0, 0, 2).Format(time.DateOnly)}, reg...), code: 1,
			want: "the period ends after today"},
		{name: "too long", args: append([]string{"--district", "南湖区", "--from", "2024-01-01", "--to", "2025-12-31"}, reg...), code: 1,
			want: "a report covers at most 400 days"},
		{name: "no registry", args: []string{"--district", "南湖区", "--from", "2026-11-01", "--to", "2026-11-30"}, code: 1,
			want: "registry.file is required"},
		{name: "an unknown district", args: append([]string{"--district", "北湖区", "--from", "2026-11-01", "--to", "2026-11-30"}, reg...), code: 1,
			want: `district "北湖区" is not in the registry ` + demoRegistry + `, which has 南湖区, 嘉善县, 平湖市, 桐乡市, 海宁市, 海盐县, 秀洲区`},
		{name: "an unknown school", args: append([]string{"--school", "JX-NH-9999", "--kind", "daily", "--from", "2026-11-01"}, reg...), code: 1,
			want: `school "JX-NH-9999" is not in the registry`},
		{name: "a stray argument", args: []string{"--district", "南湖区", "2026-11"}, code: 1, want: `unexpected argument "2026-11"`},
		{name: "an unknown flag", args: []string{"--distrcit", "南湖区"}, code: 2, want: "flag provided but not defined: -distrcit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SANSE_REGISTRY_FILE", "")
			os.Unsetenv("SANSE_REGISTRY_FILE")
			var out, errOut bytes.Buffer
			code := run(append([]string{"report"}, tc.args...), &out, &errOut)
			require.Equal(t, tc.code, code, errOut.String())
			require.Contains(t, errOut.String(), tc.want)
			require.Empty(t, out.String(), "nothing on stdout")
		})
	}
}

// TestReportCommandMakesAReport runs `sanse report` against ClickHouse: the
// daily report of the demo district is written where --out says, in HTML
// and in CSV, titled by its district and day, and names the district's
// schools only.
func TestReportCommandMakesAReport(t *testing.T) {
	dsn := storetest.FreshDSN(t)
	dir := t.TempDir()
	base := []string{"report", "--district", "南湖区", "--kind", "daily", "--from", "2026-11-02", "--registry.file", demoRegistry,
		"--clickhouse.dsn", dsn}
	var out, errOut bytes.Buffer
	html := filepath.Join(dir, "r.html")
	require.Equal(t, 0, run(append(base, "--out", html), &out, &errOut), errOut.String())
	b, err := os.ReadFile(html)
	require.NoError(t, err)
	require.Contains(t, string(b), "南湖区校园安全日报（2026年11月2日）")
	require.NotContains(t, string(b), "JX-XZ-", "a school of another district")

	errOut.Reset()
	csv := filepath.Join(dir, "r.csv")
	require.Equal(t, 0, run(append(base, "--format", "csv", "--out", csv), &out, &errOut), errOut.String())
	b, err = os.ReadFile(csv)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("\xef\xbb\xbf")), "a byte-order mark for Excel")
	reg, err := os.ReadFile(demoRegistry)
	require.NoError(t, err)
	schools := strings.Count(string(reg), ",南湖区,")
	require.Contains(t, string(b), "南湖区校园安全日报（2026年11月2日）,南湖区,2026-11-02 00:00:00,2026-11-03 00:00:00,")
	require.Contains(t, string(b), fmt.Sprintf("\n2026-11-02,0,0,%d,0,0\r\n", schools), "every school of the district, green on a day with no history")
}

// TestReportCommandHelp lists the command and its flags.
func TestReportCommandHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"report", "-h"}, &out, &errOut))
	for _, f := range []string{"--district", "--school", "--kind", "--from", "--to", "--format", "--out", "--config.file", "--clickhouse.dsn", "--registry.file"} {
		require.Contains(t, errOut.String(), f)
	}
	out.Reset()
	require.Equal(t, 0, run([]string{"help"}, &out, &errOut))
	require.Contains(t, out.String(), "sanse report ")
}

// TestReportRequestPeriods checks the periods the flags name.
func TestReportRequestPeriods(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, engine.Shanghai) // a Thursday
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, engine.Shanghai) }
	for _, tc := range []struct {
		kind, from, to string
		wantFrom       time.Time
		wantTo         time.Time
	}{
		{"daily", "", "", day(12, 2), day(12, 3)},
		{"weekly", "", "", day(11, 23), day(11, 30)},
		{"monthly", "", "", day(11, 1), day(12, 1)},
		{"weekly", "2026-11-23", "", day(11, 23), day(11, 30)},
		{"custom", "2026-11-01", "2026-11-30", day(11, 1), day(12, 1)},
		{"custom", "2026-12-03", "2026-12-03", day(12, 3), day(12, 4)},
	} {
		r, err := checkReportFlags("南湖区", "", tc.kind, "html", tc.from, tc.to, "")
		require.NoError(t, err)
		spec, err := r.spec(now, engine.Shanghai)
		require.NoError(t, err, "%s %s %s", tc.kind, tc.from, tc.to)
		require.Equal(t, report.Kind(tc.kind), spec.Kind)
		require.True(t, tc.wantFrom.Equal(spec.From) && tc.wantTo.Equal(spec.To), "%s %s–%s: got %s–%s", tc.kind, tc.from, tc.to, spec.From, spec.To)
	}
	r, err := checkReportFlags("南湖区", "", "weekly", "html", "2026-11-30", "", "")
	require.NoError(t, err)
	_, err = r.spec(now, engine.Shanghai)
	require.ErrorContains(t, err, "the period ends after today (2026-12-03)", "this week has not ended")
	require.NotContains(t, reportSynopsis, "\n")
}
