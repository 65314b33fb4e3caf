package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/testcert"
)

// metricName is STYLE.md's sanse_<subsystem>_<name>_<unit>: snake case, a
// known subsystem (one per package that registers metrics), then the name.
var metricName = regexp.MustCompile(`^sanse_(api|engine|ingest|store|rules|registry|retention|hazard|alert|notify)_[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestMetricNames builds every component the way `sanse serve` does, on one
// registry, without running anything (no broker is started: the brokers are
// given and not dialled before Run), and checks the names of everything
// registered: the conventions, and that each metric the documentation names
// is there.
func TestMetricNames(t *testing.T) {
	rec, reg := registerEverything(t)

	// Every name registered, also those of labelled metrics that have no
	// series yet.
	require.NotEmpty(t, rec.names)
	for _, name := range rec.names {
		require.Regexp(t, metricName, name)
	}

	families, err := reg.Gather()
	require.NoError(t, err)
	exposed := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue // the Go runtime's and the process's collectors
		}
		exposed[name] = true
		require.Regexp(t, metricName, name)
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			require.True(t, strings.HasSuffix(name, "_total"), "counter %s ends in _total", name)
		case dto.MetricType_HISTOGRAM:
			require.False(t, strings.HasSuffix(name, "_total"), "histogram %s", name)
			if strings.Contains(name, "duration") {
				require.True(t, strings.HasSuffix(name, "_seconds"), "duration %s is in seconds", name)
			}
		default:
			require.False(t, strings.HasSuffix(name, "_total"), "only counters end in _total: %s", name)
		}
		if strings.Contains(name, "timestamp") {
			require.True(t, strings.HasSuffix(name, "_timestamp_seconds"), "timestamp %s is in Unix seconds", name)
		}
	}

	for name := range exposed {
		require.Contains(t, rec.names, name, "%s is gathered but was not registered through the components' Registerer", name)
	}

	// Every metric the documentation names is registered under that name.
	for _, name := range documentedMetrics(t) {
		require.Contains(t, rec.names, name, "%s is documented but not registered", name)
	}
}

// registerEverything builds every component the way `sanse serve` does, on
// one registry, without running anything (no broker is started: the brokers
// are given and not dialled before Run), with HTTPS so that its metrics are
// registered too. It returns what recorded the components' registrations and
// the registry, which also holds the Go runtime's and the process's
// collectors.
func registerEverything(t *testing.T) (*describedNames, *prometheus.Registry) {
	t.Helper()
	dsn, _ := testDatabase(t, clickhouseDSN(t))
	cfg := defaultConfig()
	cfg.Registry.File = filepath.Join("..", "..", "testdata", "registry", "demo.csv")
	cfg.ClickHouse.DSN = dsn
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
	cfg.Privacy.VisitorKeyFile = filepath.Join(t.TempDir(), "visitor.key")
	// With HTTPS, whose metrics are registered only then.
	cfg.Web.TLSCertFile, cfg.Web.TLSKeyFile = testcert.NewCA(t).Issue(t, "localhost").WriteFiles(t, t.TempDir())
	require.NoError(t, cfg.check())

	reg := newRegistry()
	rec := &describedNames{Registerer: reg}
	opts := cfg.appOptions()
	opts.Registerer = rec
	hub := api.NewHub(api.DefaultStreamBuffer, rec)
	opts.Stream = hub
	a, err := app.New(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	apiOpts := cfg.apiOptions(a, hub, nil, nil, reg)
	apiOpts.Registerer = rec
	_, err = api.New(apiOpts)
	require.NoError(t, err)
	return rec, reg
}

// describedNames is a Registerer that records the name of every metric
// registered through it, before handing the collector on.
type describedNames struct {
	prometheus.Registerer
	names []string
}

// fqName finds the name in a Desc's String form, the only form that tells it.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describedNames) Register(c prometheus.Collector) error {
	descs := make(chan *prometheus.Desc)
	go func() { c.Describe(descs); close(descs) }()
	for desc := range descs {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return d.Registerer.Register(c)
}

func (d *describedNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// documentedMetrics returns the sanse_ metric names the README and docs/ name.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, filepath.Join("..", "..", "README.md"))
	mention := regexp.MustCompile(`\bsanse_[a-z0-9_]+[a-z0-9]\b`)
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range mention.FindAllString(string(data), -1) {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				m = strings.TrimSuffix(m, suffix)
			}
			if metricName.MatchString(m) && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}
