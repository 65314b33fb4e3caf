package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// testReceivers are the receivers the configurations below may name.
var testReceivers = []notify.ReceiverConfig{
	{Name: "district-office-mail", Email: &notify.EmailConfig{Smarthost: "mail.example.org:25", From: "a@example.org", To: []string{"b@example.org"}}},
	{Name: "district-dingtalk", DingTalk: &notify.DingTalkConfig{URL: "https://oapi.dingtalk.com/robot/send?access_token=x"}},
	{Name: "am", Alertmanager: &notify.AlertmanagerConfig{URL: "http://am.example.org/api/v2/alerts"}},
}

// decodeConfig decodes the reports section as the configuration file does:
// strictly, with the lines of the file.
func decodeConfig(t *testing.T, src string) (Config, error) {
	t.Helper()
	var wrap struct {
		Reports Config `yaml:"reports"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&wrap)
	return wrap.Reports, err
}

func TestConfigDecodesSchedules(t *testing.T) {
	c, err := decodeConfig(t, `reports:
  timezone: Asia/Shanghai
  schedules:
    - name: district-daily
      cron: "30 7 * * *"
      kind: daily
      districts: all
      receivers: [district-office-mail, district-dingtalk]
    - name: weekly-schools
      cron: "0 8 * * 1"
      kind: weekly
      schools: ["330402001"]
    - name: monthly-two
      cron: "@monthly"
      kind: monthly
      districts: [南湖区, 秀洲区]
`)
	require.NoError(t, err)
	require.NoError(t, c.Validate(testReceivers))
	require.Len(t, c.Schedules, 3)
	require.True(t, c.Schedules[0].AllDistricts)
	require.Equal(t, []string{"district-office-mail", "district-dingtalk"}, c.Schedules[0].Receivers)
	require.Equal(t, []string{"330402001"}, c.Schedules[1].Schools)
	require.Equal(t, []string{"南湖区", "秀洲区"}, c.Schedules[2].Districts)
	loc, err := c.Location()
	require.NoError(t, err)
	require.Same(t, engine.Shanghai, loc)
	schedules, err := c.Compile(testReceivers)
	require.NoError(t, err)
	require.Equal(t, KindWeekly, schedules[1].Kind)

	// Written out and read again, a schedule is the same.
	b, err := yaml.Marshal(c.Schedules[0])
	require.NoError(t, err)
	var again ScheduleConfig
	require.NoError(t, yaml.Unmarshal(b, &again))
	again.line, again.lines = c.Schedules[0].line, c.Schedules[0].lines
	require.Equal(t, c.Schedules[0], again)
}

func TestConfigRefusesMistakesWithTheirLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // each must be in the error
	}{
		{name: "bad cron", src: `reports:
  schedules:
    - name: a
      cron: "61 7 * * *"
      kind: daily
      districts: all
`, want: []string{"line 4: reports.schedules[0] (a).cron", `"61 7 * * *"`, "above maximum", `expected five fields "minute hour day-of-month month day-of-week"`}},
		{name: "six fields", src: `reports:
  schedules:
    - name: a
      cron: "0 30 7 * * *"
      kind: daily
      districts: all
`, want: []string{"line 4:", "expected exactly 5 fields"}},
		{name: "a monthly schedule that skips months", src: `reports:
  schedules:
    - name: a
      cron: "0 9 31 * *"
      kind: monthly
      districts: all
`, want: []string{"line 4: reports.schedules[0] (a).cron", "does not fire in every month (not in", "would never be made"}},
		{name: "a daily schedule on weekdays only", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * 1-5"
      kind: daily
      districts: all
`, want: []string{"line 4:", "does not fire in every day"}},
		{name: "unknown kind", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * *"
      kind: yearly
      districts: all
`, want: []string{"line 5: reports.schedules[0] (a).kind", `"yearly"`, "expected daily (the previous day), weekly"}},
		{name: "custom is not a schedule's kind", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * *"
      kind: custom
      districts: all
`, want: []string{"line 5:", `"custom"`}},
		{name: "unknown receiver", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * *"
      kind: daily
      districts: all
      receivers: [district-office-mial]
`, want: []string{"line 7: reports.schedules[0] (a).receivers", `no receiver is named "district-office-mial"`, "district-office-mail, district-dingtalk, am"}},
		{name: "an alertmanager receiver carries no reports", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * *"
      kind: daily
      districts: all
      receivers: [am]
`, want: []string{"line 7:", `receiver "am" has only an alertmanager channel`}},
		{name: "both scopes", src: `reports:
  schedules:
    - name: a
      cron: "30 7 * * *"
      kind: daily
      districts: all
      schools: [S1]
`, want: []string{"line 7:", "set districts or schools, not both"}},
		{name: "no scope, no name, no kind", src: `reports:
  schedules:
    - cron: "30 7 * * *"
`, want: []string{"line 3: reports.schedules[0]: name is required", "line 3: reports.schedules[0]: kind is required", "no scope"}},
		{name: "two schedules of one name", src: `reports:
  schedules:
    - {name: a, cron: "@daily", kind: daily, districts: all}
    - {name: a, cron: "@daily", kind: daily, districts: all}
`, want: []string{"line 4: reports.schedules[1] (a).name", "used twice"}},
		{name: "bad zone and bounds", src: `reports:
  timezone: Mars/Olympus
  catch_up_runs: -1
  claim_lease: 10s
`, want: []string{`reports.timezone "Mars/Olympus"`, "reports.catch_up_runs must be from 1 to 100", "reports.claim_lease must be at least 1m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeConfig(t, tc.src)
			require.NoError(t, err)
			err = c.Validate(testReceivers)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			_, err = c.Compile(testReceivers)
			require.Error(t, err, "Compile refuses what Validate refuses")
		})
	}
}

func TestConfigRefusesWhatDoesNotDecode(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "reports:\n  schedules:\n    - name: a\n      crontab: x\n", "line 4: reports.schedules: unknown key crontab (expected name, cron, kind, districts, schools, receivers"},
		{"districts neither all nor a list", "reports:\n  schedules:\n    - name: a\n      districts: some\n", "line 4: reports.schedules: districts: expected all, or a list of district names"},
		{"receivers not a list", "reports:\n  schedules:\n    - name: a\n      receivers: mail\n", "line 4: reports.schedules: receivers: expected a list"},
		{"a key twice", "reports:\n  schedules:\n    - name: a\n      name: b\n", "line 4: reports.schedules: name is given twice"},
		{"not a mapping", "reports:\n  schedules:\n    - daily\n", "line 3: reports.schedules: expected a mapping"},
		{"unknown key of the section", "reports:\n  timezone: Asia/Shanghai\n  catchup: 3\n", "line 3: field catchup not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeConfig(t, tc.src)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConfigDefaultsAndReach(t *testing.T) {
	c := Config{}.WithDefaults()
	require.Equal(t, DefaultTimezone, c.Timezone)
	require.Equal(t, DefaultCatchUpRuns, c.CatchUpRuns)
	require.Equal(t, DefaultClaimLease, c.ClaimLease)
	require.Equal(t, DefaultCheckInterval, c.CheckInterval)

	c.Schedules = []ScheduleConfig{{Kind: KindDaily}, {Kind: KindMonthly}}
	require.Equal(t, 8*31*24*time.Hour, c.Reach(), "seven monthly periods and the one before")
}
