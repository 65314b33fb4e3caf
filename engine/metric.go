package engine

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gauges of what the engine holds in memory (Sizes), read at
// each scrape with one pass over the schools, so that an installation sees
// that memory follows the number of schools and the rules' windows, not the
// number of events processed.
type metrics struct {
	e                                                   *Engine
	schools, recentIDs, risks, ruleEntries, resolutions *prometheus.Desc
}

// RegisterMetrics registers the sanse_engine_* gauges of e on reg; a nil reg
// registers nothing. It panics if they are registered already.
func RegisterMetrics(e *Engine, reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("sanse", "engine", name), help, nil, nil)
	}
	reg.MustRegister(&metrics{
		e:         e,
		schools:   desc("schools_with_state", "Schools the engine keeps state for (risks, colour, rule windows, recent event ids); at most the registry's schools."),
		recentIDs: desc("recent_event_ids", fmt.Sprintf("Event ids remembered to recognise a producer's copy of an event: the last %d per school.", RecentIDs)),
		risks:     desc("active_risks", "Active risks of every school."),
		ruleEntries: desc("rule_state_entries",
			"Entries the rules keep for the schools: samples of sliding windows and last-seen times of absence checks."),
		resolutions: desc("resolutions", "Resolutions by people the engine remembers within the horizon, so that an earlier event does not open the risk again."),
	})
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.schools, m.recentIDs, m.risks, m.ruleEntries, m.resolutions} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	z := m.e.Sizes()
	for _, g := range []struct {
		d *prometheus.Desc
		v int
	}{{m.schools, z.Schools}, {m.recentIDs, z.RecentIDs}, {m.risks, z.Risks}, {m.ruleEntries, z.RuleEntries}, {m.resolutions, z.Resolutions}} {
		ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, float64(g.v))
	}
}
