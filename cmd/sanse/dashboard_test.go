package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// The tests of the Grafana dashboard deploy/grafana/sanse.json. They live
// here rather than beside it because the metric names its queries use are
// checked against the registrations of the real components, which only this
// package builds.

// dashboardFile is the Grafana dashboard, relative to this package.
var dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "sanse.json")

// dashboardDatasource is how every panel and query names its data source:
// the dashboard's data source variable, never a uid of one installation.
const dashboardDatasource = "${datasource}"

// scrapeMetrics are the series Prometheus itself records for each target,
// which the dashboard may use beside Sanse's own.
var scrapeMetrics = []string{"up"}

// grafanaVariables stand for Grafana's built-in interval variables when a
// query is parsed; the dashboard's own variables appear only inside label
// matchers, where any string parses.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(data, &d), "%s is not JSON", dashboardFile)
	return d
}

// labelValues matches the query of a variable that lists a label's values,
// label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// queries returns every PromQL query of the dashboard, named by its panel
// and refId, or by its variable.
func (d dashboard) queries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		require.NoError(t, json.Unmarshal(v.Query, &q), "variable %s: the query is a string", v.Name)
		m := labelValues.FindStringSubmatch(q)
		require.NotNil(t, m, "variable %s: %s is not label_values(<selector>, <label>)", v.Name, q)
		out["variable "+v.Name] = m[1]
	}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("panel %d %q, query %s", p.ID, p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// metricNames returns the names of the series expr selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	require.NoError(t, err, "%s does not parse", expr)
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			require.NotEmpty(t, vs.Name, "%s selects series without a metric name", expr)
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestGrafanaDashboard checks the dashboard as Grafana imports it: the data
// source is a variable of type prometheus that every panel and query uses (no
// uid of one installation), panels have unique ids and fit the grid, and
// every query parses as PromQL and selects a metric by name.
func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	require.NotEmpty(t, d.UID)
	require.NotEmpty(t, d.Title)
	require.GreaterOrEqual(t, d.SchemaVersion, 41, "the classic JSON model of Grafana 12 or later")

	var variables []string
	for _, v := range d.Templating.List {
		variables = append(variables, v.Name)
		if v.Type == "datasource" {
			require.Equal(t, "datasource", v.Name)
			require.JSONEq(t, `"prometheus"`, string(v.Query), "the data source variable offers Prometheus data sources")
			continue
		}
		require.NotNil(t, v.Datasource, "variable %s", v.Name)
		require.Equal(t, dashboardDatasource, v.Datasource.UID, "variable %s", v.Name)
	}
	require.Contains(t, variables, "datasource")

	ids := map[int]bool{}
	var check func(ps []panel)
	check = func(ps []panel) {
		for _, p := range ps {
			require.NotZero(t, p.ID, "panel %q has no id", p.Title)
			require.False(t, ids[p.ID], "panel id %d is used twice", p.ID)
			ids[p.ID] = true
			require.NotEmpty(t, p.Title, "panel %d", p.ID)
			require.True(t, p.GridPos.W > 0 && p.GridPos.H > 0 && p.GridPos.X >= 0 && p.GridPos.X+p.GridPos.W <= 24,
				"panel %d %q: gridPos %+v is outside the 24 columns", p.ID, p.Title, p.GridPos)
			if p.Type != "row" {
				require.NotEmpty(t, p.Description, "panel %d %q says what it shows", p.ID, p.Title)
				require.NotEmpty(t, p.Targets, "panel %d %q has no query", p.ID, p.Title)
				require.NotNil(t, p.Datasource, "panel %d %q", p.ID, p.Title)
				require.Equal(t, datasourceRef{Type: "prometheus", UID: dashboardDatasource}, *p.Datasource, "panel %d %q", p.ID, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				require.False(t, refs[tg.RefID], "panel %d: refId %s is used twice", p.ID, tg.RefID)
				refs[tg.RefID] = true
				require.NotNil(t, tg.Datasource, "panel %d query %s", p.ID, tg.RefID)
				require.Equal(t, dashboardDatasource, tg.Datasource.UID, "panel %d query %s", p.ID, tg.RefID)
			}
			check(p.Panels)
		}
	}
	check(d.Panels)

	queries := d.queries(t)
	require.NotEmpty(t, queries)
	for name, expr := range queries {
		require.NotEmpty(t, metricNames(t, expr), "%s selects no metric", name)
	}
}

// TestGrafanaDashboardMetrics checks that every metric the dashboard's
// queries select is one Sanse registers when it runs (registerEverything,
// as TestMetricNames builds it), or one Prometheus records for a scrape.
func TestGrafanaDashboardMetrics(t *testing.T) {
	rec, reg := registerEverything(t)
	known := map[string]bool{}
	for _, name := range rec.names {
		known[name] = true
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		known[f.GetName()] = true // also the Go runtime's and the process's
	}
	for _, name := range scrapeMetrics {
		known[name] = true
	}

	d := loadDashboard(t)
	used := map[string]bool{}
	for name, expr := range d.queries(t) {
		for _, metric := range metricNames(t, expr) {
			base := metric
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(metric, suffix); ok && known[b] {
					base = b
				}
			}
			require.True(t, known[base], "%s: %s is not a metric Sanse registers (%s)", name, metric, expr)
			used[base] = true
		}
	}

	// The subsystems the dashboard is about are all on it.
	for _, prefix := range []string{"sanse_ingest_", "sanse_store_", "sanse_rules_", "sanse_alert_", "sanse_notify_", "sanse_api_"} {
		require.True(t, slices.ContainsFunc(slices.Collect(maps.Keys(used)), func(n string) bool { return strings.HasPrefix(n, prefix) }),
			"no panel shows a %s metric", prefix)
	}
}
