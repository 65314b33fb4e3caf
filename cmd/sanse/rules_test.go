package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// rulesTestRules is a rule file with one rule, for `sanse rules test`.
const rulesTestRules = `rules:
  - id: visitor.blacklist
    source: visitor
    type: entry
    when: event.watchlist == "blacklist"
    level: high
    title: 禁入名单人员进入校园
`

const rulesTestEvent = `    events:
      - {at: 2026-11-02T09:00:00+08:00, event: {source: visitor, type: entry, visitor_id: "330402198001011234", id_verified: true, watchlist: blacklist}}
`

func TestRulesTestCommand(t *testing.T) {
	tests := []struct {
		name     string
		test     string // the content of visitor_test.yaml; "" runs the default pack's tests
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		{
			name:   "the default pack's tests pass",
			code:   0,
			stdout: []string{" tests, ", " failed\n", "0 failed"},
		},
		{
			name:   "a passing test",
			test:   "tests:\n  - name: red on a blacklisted visitor\n" + rulesTestEvent + "    expect:\n      - {at: 2026-11-02T09:00:01+08:00, level: red, risks: [{rule: visitor.blacklist, level: high}]}\n",
			code:   0,
			stdout: []string{"1 tests, 1 passed, 0 failed\n"},
		},
		{
			name:   "a failing test shows what was expected and what the rules gave",
			test:   "tests:\n  - name: wrongly expects yellow\n" + rulesTestEvent + "    expect:\n      - {at: 2026-11-02T09:00:01+08:00, level: yellow, risks: [{rule: visitor.blacklist, level: medium}]}\n",
			code:   1,
			stdout: []string{"1 tests, 0 passed, 1 failed\n"},
			stderr: []string{
				"FAIL visitor_test.yaml: wrongly expects yellow\n",
				"at 2026-11-02T09:00:01+08:00, school S1: level: expected yellow, got red (active: visitor.blacklist high \"禁入名单人员进入校园\")\n",
				"at 2026-11-02T09:00:01+08:00, school S1: risks: expected [visitor.blacklist medium], got [visitor.blacklist high \"禁入名单人员进入校园\"]\n",
				"sanse rules: 1 rule tests failed\n",
			},
		},
		{
			name:     "a test without expectations is refused",
			test:     "tests:\n  - name: expects nothing\n" + rulesTestEvent,
			code:     1,
			stderr:   []string{`visitor_test.yaml: test "expects nothing": nothing is expected`},
			noStdout: true,
		},
		{
			name:   "help",
			args:   []string{"rules", "test", "-h"},
			code:   0,
			stderr: []string{"Usage: sanse rules test [--sources.dir DIR] [FILE ...]\n", "exit status is 1"},
		},
		{
			name:   "an unknown flag",
			args:   []string{"rules", "test", "--bogus"},
			code:   2,
			stderr: []string{"flag provided but not defined: -bogus", "Usage: sanse rules test"},
		},
		{
			name:   "a missing file",
			args:   []string{"rules", "test", filepath.Join(t.TempDir(), "nothing_test.yaml")},
			code:   1,
			stderr: []string{"sanse rules: rules of "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = []string{"rules", "test"}
			}
			if tt.test != "" {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "visitor.yaml"), []byte(rulesTestRules), 0o644))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "visitor_test.yaml"), []byte(tt.test), 0o644))
				t.Chdir(dir) // results name the file as given
				args = append(args, "visitor_test.yaml")
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			require.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tt.stdout {
				require.Contains(t, stdout.String(), w)
			}
			for _, w := range tt.stderr {
				require.Contains(t, stderr.String(), w)
			}
			if tt.noStdout {
				require.Empty(t, stdout.String())
			}
		})
	}
}

func TestRulesCheckHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "check", "-h"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "Usage: sanse rules check [--sources.dir DIR] [DIR ...]\n", "-sources.dir")
	require.Empty(t, stdout.String())
}

// TestRulesOfADeclaredSource: with --sources.dir, rules and rule tests may
// name a source declared in a file; without it, the source is unknown.
func TestRulesOfADeclaredSource(t *testing.T) {
	sources, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sources"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bus.yaml"), []byte(`rules:
  - id: bus.speeding
    source: ferry
    type: speeding
    when: event.speed_kmh > event.limit_kmh + 10
    level: high
    title: 渡船严重超速
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bus_test.yaml"), []byte(`tests:
  - name: a bus far over the limit
    events:
      - {at: 2026-11-02T07:30:00+08:00, event: {source: ferry, type: speeding, plate: 浙F12345, speed_kmh: 75, limit_kmh: 50}}
      - {at: 2026-11-02T07:31:00+08:00, event: {source: ferry, type: speeding, plate: 浙F12345, speed_kmh: 55, limit_kmh: 50}}
    expect:
      - {at: 2026-11-02T07:30:01+08:00, level: red, risks: [{rule: bus.speeding, level: high}]}
`), 0o644))

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "check", "--sources.dir", sources, dir}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "1 rules in 1 files OK")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"rules", "test", "--sources.dir", sources, filepath.Join(dir, "bus_test.yaml")}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "1 tests, 1 passed, 0 failed")

	stderr.Reset()
	t.Setenv("SANSE_SOURCES_DIR", "")
	require.Equal(t, 1, run([]string{"rules", "check", dir}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "ferry")
}
