package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func loadWith(t *testing.T, file string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cf := newConfigFlags(fs)
	if file != "" {
		p := filepath.Join(t.TempDir(), "sanse.yaml")
		require.NoError(t, os.WriteFile(p, []byte(file), 0o644))
		args = append([]string{"--config.file", p}, args...)
	}
	require.NoError(t, fs.Parse(args))
	return cf.load()
}

func TestConfigPrecedence(t *testing.T) {
	file := "registry:\n  file: from-file.csv\nclickhouse:\n  dsn: clickhouse://file:9000/x\nkafka:\n  batch_interval: 1s\n"
	t.Setenv("SANSE_CLICKHOUSE_DSN", "clickhouse://env:9000/x")
	t.Setenv("SANSE_WEB_LISTEN_ADDRESS", ":9999")
	cfg, err := loadWith(t, file, "--web.listen-address", ":7777", "--kafka.brokers", "a:9092, b:9092")
	require.NoError(t, err)
	require.Equal(t, "from-file.csv", cfg.Registry.File, "the file sets what nothing overrides")
	require.Equal(t, "clickhouse://env:9000/x", cfg.ClickHouse.DSN, "the environment overrides the file")
	require.Equal(t, ":7777", cfg.Web.ListenAddress, "a flag overrides the environment")
	require.Equal(t, []string{"a:9092", "b:9092"}, cfg.Kafka.Brokers)
	require.Equal(t, time.Second, cfg.Kafka.BatchInterval)
	require.Equal(t, 50000, cfg.Kafka.BatchSize, "defaults fill the rest")
	require.Equal(t, filepath.Join("data", "kafka"), cfg.Kafka.Embedded.DataDir)
}

func TestConfigRefusesMistakes(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{name: "unknown key", file: "registry:\n  file: x.csv\nclickhouse:\n  dns: clickhouse://x\n",
			want: []string{"line 4: unknown key dns"}},
		{name: "wrong type", file: "registry:\n  file: x.csv\nkafka:\n  batch_size: many\n",
			want: []string{"line 4", "many"}},
		{name: "every bad value at once", file: "registry:\n  file: x.csv\nkafka:\n  batch_size: -1\nlog:\n  level: loud\n",
			want: []string{"kafka.batch_size must be positive", `log.level "loud"`}},
		{name: "group timing", file: "registry:\n  file: x.csv\nkafka:\n  session_timeout: 6s\n  heartbeat_interval: 10s\n  rebalance_timeout: 0s\n",
			want: []string{"kafka.heartbeat_interval must be positive and shorter than kafka.session_timeout (6s)",
				"kafka.rebalance_timeout must be at least 1s"}},
		{name: "map refresh out of range", file: "registry:\n  file: x.csv\nmap:\n  refresh: 2m\n",
			want: []string{"map.refresh must be from 1ms to 1m", "got 2m0s"}},
		{name: "map refresh below a millisecond", file: "registry:\n  file: x.csv\nmap:\n  refresh: 100us\n",
			want: []string{"map.refresh must be from 1ms to 1m", "got 100µs"}},
		{name: "no registry", file: "web:\n  listen_address: ':1'\n", want: []string{"registry.file is required"}},
		{name: "a report schedule's mistakes, with their lines", file: "registry:\n  file: x.csv\nreports:\n  schedules:\n" +
			"    - name: district-daily\n      cron: \"30 25 * * *\"\n      kind: daily\n      districts: all\n      receivers: [office]\n" +
			"    - name: weekly\n      cron: \"0 8 * * 1\"\n      kind: fortnightly\n      schools: [S1]\n",
			want: []string{"line 6: reports.schedules[0] (district-daily).cron: \"30 25 * * *\"", "above maximum",
				`line 9: reports.schedules[0] (district-daily).receivers: no receiver is named "office": alerting.receivers names none`,
				`line 12: reports.schedules[1] (weekly).kind: "fortnightly": expected daily`}},
		{name: "an unknown key of a schedule", file: "registry:\n  file: x.csv\nreports:\n  schedules:\n    - name: a\n      when: daily\n",
			want: []string{"line 6: reports.schedules: unknown key when"}},
		{name: "reports dropped before the catch-up looks back", file: "registry:\n  file: x.csv\nretention:\n  tables:\n    reports: 720h\n" +
			"reports:\n  schedules:\n    - {name: m, cron: \"@monthly\", kind: monthly, districts: all}\n",
			want: []string{"retention.tables.reports (720h0m0s) is shorter than the reports' catch-up reach"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadWith(t, tt.file)
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestHelpListsFlags(t *testing.T) {
	for _, cmd := range []string{"serve", "demo", "simulate"} {
		var out, errOut bytes.Buffer
		code := run([]string{cmd, "-h"}, &out, &errOut)
		require.Equal(t, 0, code)
		help := errOut.String()
		require.Contains(t, help, "--kafka.brokers", cmd)
		if cmd != "simulate" {
			for _, f := range []string{"--config.file", "--web.listen-address", "--kafka.embedded-listen-address",
				"--kafka.embedded-data-dir", "--clickhouse.dsn", "--registry.file", "--rules.dir"} {
				require.Contains(t, help, f, cmd)
			}
		}
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"--help"}, &out, &errOut))
	for _, c := range []string{"serve", "demo", "simulate", "rules check"} {
		require.Contains(t, out.String(), "sanse "+c)
	}
}

func TestRulesCheckCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "check"}, &out, &errOut))
	require.Contains(t, out.String(), "the default pack: ")
	require.Contains(t, out.String(), " OK")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, run([]string{"rules", "check", filepath.Join("..", "..", "testdata", "rules", "bad")}, &out, &errOut))
	require.Contains(t, errOut.String(), "two_mistakes.yaml:5:17: rule \"visitor.misspelt\"")
	require.Contains(t, errOut.String(), "two_mistakes.yaml:10:25: rule \"canteen.type_error\"")
}
