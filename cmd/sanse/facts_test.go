package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/notify"
)

// TestTopicsConfig decodes kafka.topics: the built-in sources' keys as
// before, a source declared in sources.dir by its name, defaults from the
// declarations, and a name no source declares refused.
func TestTopicsConfig(t *testing.T) {
	const sources = "../../testdata/sources"
	tests := []struct {
		name    string
		file    string
		args    []string
		want    map[engine.Source]string
		wantErr string
	}{
		{name: "defaults", want: topicsWith(nil)},
		{name: "the built-in keys", file: "kafka:\n  topics:\n    visitor: gate.v2\n    bullying: app.reports\n    deadletter: dlq\n",
			want: topicsWith(map[engine.Source]string{engine.SourceVisitor: "gate.v2", engine.SourceBullying: "app.reports"})},
		{name: "a declared source takes its declared topic", args: []string{"--sources.dir", sources},
			want: topicsWith(map[engine.Source]string{"ferry": "campus.ferry"})},
		{name: "a declared source's topic configured", file: "kafka:\n  topics:\n    ferry: bus.gps\n", args: []string{"--sources.dir", sources},
			want: topicsWith(map[engine.Source]string{"ferry": "bus.gps"})},
		{name: "a source nobody declared", file: "kafka:\n  topics:\n    ferry: bus.gps\n",
			wantErr: `kafka.topics.ferry: no source "ferry" is declared; expected one of visitor, canteen, drowning, bullying, fire_safety, gate_security, health, mental_health, school_bus or deadletter`},
		{name: "not a topic name", file: "kafka:\n  topics:\n    visitor: [a, b]\n", wantErr: "line 5: kafka.topics.visitor: expected a topic name"},
		{name: "not a mapping", file: "kafka:\n  topics: campus\n", wantErr: "line 4: kafka.topics: expected a mapping"},
		{name: "two sources on one topic", file: "kafka:\n  topics:\n    canteen: campus.visitor\n",
			wantErr: `kafka.topics.canteen: topic "campus.visitor" is also the topic of visitor`},
		{name: "a source on the dead-letter topic", file: "kafka:\n  topics:\n    deadletter: campus.drowning\n",
			wantErr: `kafka.topics.drowning: topic "campus.drowning" is also the topic of deadletter`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadWith(t, "registry:\n  file: x.csv\n"+tc.file, tc.args...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.topics())
			require.Equal(t, tc.want, cfg.appOptions().Kafka.Topics)
			require.Equal(t, cfg.contract(), cfg.appOptions().Contract)
		})
	}
}

// TestSourcesDirErrors: a declaration with errors stops the start, with
// every error's file and line.
func TestSourcesDirErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bus.yaml"), []byte("source: ferry\ntopic: campus.bus\ntypes:\n  gps:\n    fields:\n      speed: {type: speed}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fire.yaml"), []byte("source: fire\ntopic: campus.fire\n"), 0o644))
	t.Setenv("SANSE_SOURCES_DIR", dir)
	_, err := loadWith(t, "registry:\n  file: x.csv\n")
	require.ErrorContains(t, err, filepath.Join(dir, "bus.yaml")+":6: field speed: unknown type \"speed\"")
	require.ErrorContains(t, err, filepath.Join(dir, "fire.yaml")+":1: types: required")

	_, err = loadWith(t, "registry:\n  file: x.csv\n", "--sources.dir", filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "sources.dir "+filepath.Join(dir, "missing"))
}

// TestEmptyTopicRefused checks that every source's topic is checked.
func TestEmptyTopicRefused(t *testing.T) {
	for _, key := range append([]string{"deadletter"}, sourceNames()...) {
		t.Run(key, func(t *testing.T) {
			_, err := loadWith(t, "registry:\n  file: x.csv\nkafka:\n  topics:\n    "+key+": \"\"\n")
			require.ErrorContains(t, err, "kafka.topics."+key+" must not be empty")
		})
	}
}

// topicsWith returns the built-in sources' default topics with over
// applied.
func topicsWith(over map[engine.Source]string) map[engine.Source]string {
	out := ingest.DefaultTopics(event.Builtin())
	maps.Copy(out, over)
	return out
}

func sourceNames() []string {
	var out []string
	for _, src := range event.Builtin().Names() {
		out = append(out, string(src))
	}
	return out
}

// TestDocumentedDefaults decodes the annotated example of
// docs/configuration.md, which states every option with its default, and
// requires it to be defaultConfig() — and, for alerting, the alert
// package's defaults — so that the page and the code cannot drift.
func TestDocumentedDefaults(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(data)
	require.NotNil(t, block, "docs/configuration.md has no yaml block")
	p := filepath.Join(t.TempDir(), "documented.yaml")
	require.NoError(t, os.WriteFile(p, block[1], 0o644))

	var documented Config
	require.NoError(t, loadConfigFile(p, &documented), "the documented example decodes strictly")

	want := defaultConfig()
	// Empty lists and maps in the example decode as empty, not nil.
	require.Empty(t, documented.Kafka.Brokers)
	documented.Kafka.Brokers = want.Kafka.Brokers
	docAlerting := documented.Alerting
	documented.Alerting = want.Alerting
	require.Empty(t, documented.Reports.Schedules)
	documented.Reports.Schedules = want.Reports.Schedules
	require.Equal(t, want, documented, "docs/configuration.md states the defaults of defaultConfig()")

	require.Equal(t, alert.DefaultGroupWait, docAlerting.Route.GroupWait)
	require.Equal(t, alert.DefaultRepeatInterval, docAlerting.Route.RepeatInterval)
	require.Equal(t, []string{alert.SchoolContact}, docAlerting.Route.Receivers)
	require.NotNil(t, docAlerting.Route.SendResolved)
	require.True(t, *docAlerting.Route.SendResolved)
	require.Equal(t, alert.DefaultEscalateRed, docAlerting.Escalation.Red)
	require.Equal(t, alert.DefaultEscalateYellow, docAlerting.Escalation.Yellow)
	require.NotNil(t, docAlerting.Escalation.MaxStep)
	require.Equal(t, notify.StepCity, *docAlerting.Escalation.MaxStep)
	require.Equal(t, notify.DefaultRetryInitial, docAlerting.Retry.Initial)
	require.Equal(t, notify.DefaultRetryMax, docAlerting.Retry.Max)
	require.Equal(t, notify.DefaultRetryMaxAge, docAlerting.Retry.MaxAge)
	require.Empty(t, docAlerting.ExternalURL)
	require.Empty(t, docAlerting.Receivers)
	require.Empty(t, docAlerting.QuietHours)
}

// TestHelpStatesDefaults checks that the flags' help gives the defaults of
// defaultConfig(), which come from the packages.
func TestHelpStatesDefaults(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run([]string{"serve", "-h"}, &out, &errOut))
	c := defaultConfig()
	for _, d := range []string{c.Web.ListenAddress, c.Kafka.Embedded.ListenAddress, c.Kafka.GroupID, c.ClickHouse.DSN,
		c.Rules.PollInterval.String(), c.DataDir, c.Log.Level, c.Log.Format} {
		require.Contains(t, errOut.String(), "(default "+d+")")
	}
}
