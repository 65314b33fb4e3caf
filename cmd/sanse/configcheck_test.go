package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
