package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/notify"
)

// TestTopicsConfigCoversSources holds TopicsConfig, whose YAML keys must stay
// literal fields, to engine.Sources: one field per source under the source's
// name, plus the dead-letter topic, and TopicsConfig.of finds each.
func TestTopicsConfigCoversSources(t *testing.T) {
	var keys []string
	typ := reflect.TypeFor[TopicsConfig]()
	for i := range typ.NumField() {
		keys = append(keys, typ.Field(i).Tag.Get("yaml"))
	}
	want := []string{"deadletter"}
	for _, src := range engine.Sources {
		want = append(want, string(src))
	}
	require.ElementsMatch(t, want, keys)

	var tc TopicsConfig
	for _, src := range engine.Sources {
		field := tc.of(src)
		require.NotNil(t, field, "source %s has no field in TopicsConfig", src)
		*field = "topic-of-" + string(src)
	}
	out, err := yaml.Marshal(tc)
	require.NoError(t, err)
	var byKey map[string]string
	require.NoError(t, yaml.Unmarshal(out, &byKey))
	for _, src := range engine.Sources {
		require.Equal(t, "topic-of-"+string(src), byKey[string(src)], "the field of %s has the source's name as YAML key", src)
	}
	require.Equal(t, "topic-of-drowning", tc.bySource()[engine.SourceDrowning])
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

func sourceNames() []string {
	var out []string
	for _, src := range engine.Sources {
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
