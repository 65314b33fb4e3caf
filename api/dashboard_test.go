package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// fakeColourCounts records what it is asked and answers, for the i-th
// moment, i red schools, one yellow and the rest green.
type fakeColourCounts struct {
	mu    sync.Mutex
	calls []colourCountsCall
	err   error
}

type colourCountsCall struct {
	ids []string
	at  []time.Time
}

func (f *fakeColourCounts) counts(_ context.Context, ids []string, at []time.Time) ([]ColourCount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, colourCountsCall{slices.Clone(ids), slices.Clone(at)})
	if f.err != nil {
		return nil, f.err
	}
	out := make([]ColourCount, len(at))
	for i, t := range at {
		out[i] = ColourCount{At: t, Red: i, Yellow: 1, Green: len(ids) - i - 1}
	}
	return out, nil
}

func (f *fakeColourCounts) last() colourCountsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

// dashboardJSON is the body of GET /api/v1/dashboard as the page reads it.
type dashboardJSON struct {
	GeneratedAt  string `json:"generated_at"`
	Days         int    `json:"days"`
	Schools      int    `json:"schools"`
	ColoursByDay []struct {
		Date               string `json:"date"`
		At                 string `json:"at"`
		Red, Yellow, Green int
	} `json:"colours_by_day"`
	RisksBySource []struct {
		Source                            string `json:"source"`
		Name                              string `json:"name"`
		High, Medium, Low, Pending, Total int
	} `json:"risks_by_source"`
	RisksByTown []struct {
		District, Town                    string
		Schools                           int
		High, Medium, Low, Pending, Total int
		Red, Yellow, Green                int
	} `json:"risks_by_town"`
	AlertsUnacknowledged *struct {
		Count          int     `json:"count"`
		OldestOpenedAt *string `json:"oldest_opened_at"`
		ByAge          []struct {
			Bucket string `json:"bucket"`
			Count  int    `json:"count"`
		} `json:"by_age"`
		Items []struct {
			ID         string `json:"id"`
			SchoolID   string `json:"school_id"`
			SchoolName string `json:"school_name"`
			Level      string `json:"level"`
			OpenedAt   string `json:"opened_at"`
			AgeSeconds int64  `json:"age_seconds"`
			Step       int    `json:"step"`
		} `json:"items"`
	} `json:"alerts_unacknowledged"`
	HazardsOverdue *struct {
		Count      int `json:"count"`
		Supervised int `json:"supervised"`
		Items      []struct {
			ID          string `json:"id"`
			SchoolID    string `json:"school_id"`
			SchoolName  string `json:"school_name"`
			Title       string `json:"title"`
			Deadline    string `json:"deadline"`
			DaysOverdue int    `json:"days_overdue"`
			Supervised  bool   `json:"supervised"`
		} `json:"items"`
	} `json:"hazards_overdue"`
	Compliance any `json:"compliance"`
}

// dashboardAlerts are firing alerts at four schools of three districts, one
// acknowledged and one resolved.
func dashboardAlerts() *fakeAlerts {
	a := func(id, school, district string, src engine.Source, status alert.Status, age time.Duration) *alert.Alert {
		return &alert.Alert{ID: id, SchoolID: school, SchoolName: "stored name of " + school, District: district,
			Level: engine.LevelRed, Status: status, Source: src, Title: "alert " + id, OpenedAt: testNow.Add(-age), Step: 1}
	}
	return &fakeAlerts{alerts: []*alert.Alert{
		a("al-nh1", "JX-NH-0001", "南湖区", engine.SourceVisitor, alert.StatusFiring, 30*time.Minute),
		a("al-nh1-canteen", "JX-NH-0001", "南湖区", engine.SourceCanteen, alert.StatusFiring, 2*time.Hour),
		a("al-nh2", "JX-NH-0002", "南湖区", engine.SourceDrowning, alert.StatusFiring, 5*time.Minute),
		a("al-nh2-ack", "JX-NH-0002", "南湖区", engine.SourceDrowning, alert.StatusAcknowledged, 3*time.Hour),
		a("al-nh2-done", "JX-NH-0002", "南湖区", engine.SourceDrowning, alert.StatusResolved, 3*time.Hour),
		a("al-xz1", "JX-XZ-0001", "秀洲区", engine.SourceBullying, alert.StatusFiring, 48*time.Hour),
		a("al-js1", "JX-JS-0001", "嘉善县", engine.SourceVisitor, alert.StatusFiring, 5*time.Hour),
		// A school the registry no longer has.
		a("al-gone", "JX-GONE-01", "南湖区", engine.SourceVisitor, alert.StatusFiring, time.Hour),
	}}
}

// dashboardHazards are hazards of four schools: overdue ones (one under
// supervision), one not yet due and one verified.
func dashboardHazards() *fakeHazards {
	h := func(id, school, category string, st hazard.Status, overdue time.Duration, supervised bool) *hazard.Hazard {
		hz := &hazard.Hazard{ID: id, SchoolID: school, Title: "hazard " + id, Category: category,
			Level: engine.SeverityMedium, Status: st, Deadline: testNow.Add(-overdue)}
		if supervised {
			hz.SupervisedAt = hz.Deadline.Add(time.Hour)
		}
		return hz
	}
	return &fakeHazards{hazards: []*hazard.Hazard{
		h("HZ-nh1-food", "JX-NH-0001", hazard.CategoryFood, hazard.StatusRectifying, 3*24*time.Hour+time.Hour, true),
		h("HZ-nh2-water", "JX-NH-0002", hazard.CategoryDrowning, hazard.StatusOpen, 23*time.Hour, false),
		h("HZ-nh3-due", "JX-NH-0003", hazard.CategoryFire, hazard.StatusOpen, -24*time.Hour, false),
		h("HZ-nh3-done", "JX-NH-0003", hazard.CategoryFire, hazard.StatusVerified, 10*24*time.Hour, false),
		h("HZ-xz1", "JX-XZ-0001", hazard.CategoryBullying, hazard.StatusOpen, 5*24*time.Hour, true),
		h("HZ-gone", "JX-GONE-01", hazard.CategoryOther, hazard.StatusOpen, 24*time.Hour, false),
	}}
}

// dashboardSchools are the test schools with, at JX-NH-0002, a canteen risk
// pending a check and a hazard's risk of no source besides its drowning risk.
func dashboardSchools() *fakeSchools {
	s := testSchools()
	v := s.views["JX-NH-0002"]
	v.Risks = append(v.Risks,
		engine.Risk{Rule: "canteen.rodent", Source: engine.SourceCanteen, Severity: engine.SeverityLow, Pending: true, Full: engine.SeverityHigh},
		engine.Risk{Rule: hazard.RiskRule, Key: "HZ-x", Source: "", Severity: engine.SeverityMedium})
	s.views["JX-NH-0002"] = v
	return s
}

func newDashboardServer(t *testing.T, scope Scope, counts *fakeColourCounts) *Server {
	return newTestServer(t, Options{
		Schools: dashboardSchools(), ColourCounts: counts.counts, Alerts: dashboardAlerts(), Hazards: dashboardHazards(),
		Scope: func(*http.Request) (Scope, error) { return scope, nil },
	})
}

func getDashboard(t *testing.T, s *Server, query string) dashboardJSON {
	t.Helper()
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard"+query)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return decodeJSON[dashboardJSON](t, rec)
}

func TestDashboardShape(t *testing.T) {
	counts := &fakeColourCounts{}
	s := newDashboardServer(t, ScopeAll, counts)
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	raw := decodeJSON[map[string]any](t, rec)
	for _, k := range []string{"generated_at", "days", "schools", "colours_by_day", "risks_by_source", "risks_by_town",
		"alerts_unacknowledged", "hazards_overdue", "compliance"} {
		require.Contains(t, raw, k)
	}
	require.Nil(t, raw["compliance"], "compliance is null until it is computed")

	d := decodeJSON[dashboardJSON](t, rec)
	// testNow is 2025-06-10 20:00 in Asia/Shanghai.
	require.Equal(t, "2025-06-10T20:00:00+08:00", d.GeneratedAt)
	require.Equal(t, 7, d.Days)
	require.Equal(t, 5, d.Schools)

	// Seven days, oldest first, each counted at its end; today's now.
	require.Len(t, d.ColoursByDay, 7)
	for i, day := range d.ColoursByDay {
		require.Equal(t, fmt.Sprintf("2025-06-%02d", 4+i), day.Date)
		require.Equal(t, i, day.Red, "the counts of the moment asked in that place")
		require.Equal(t, 5, day.Red+day.Yellow+day.Green)
		if i < 6 {
			require.Equal(t, fmt.Sprintf("2025-06-%02dT00:00:00+08:00", 5+i), day.At)
		}
	}
	require.Equal(t, "2025-06-10T20:00:00+08:00", d.ColoursByDay[6].At)
	call := counts.last()
	require.Equal(t, []string{"JX-JS-0001", "JX-NH-0001", "JX-NH-0002", "JX-NH-0003", "JX-XZ-0001"}, call.ids)
	require.Len(t, call.at, 7)
	require.True(t, call.at[0].Equal(time.Date(2025, 6, 5, 0, 0, 0, 0, engine.Shanghai)))
	require.True(t, call.at[6].Equal(testNow))

	// Every declared source, in the contract's order, named by its title;
	// the risks of no source last.
	require.Equal(t, "visitor", d.RisksBySource[0].Source)
	require.Equal(t, "外来人员", d.RisksBySource[0].Name)
	require.Equal(t, 1, d.RisksBySource[0].High)
	var canteen, other bool
	for _, r := range d.RisksBySource {
		switch r.Source {
		case "canteen":
			canteen = true
			require.Equal(t, "食堂", r.Name)
			// no_hat (medium) and the rodent detection pending a check (low).
			require.Equal(t, []int{0, 1, 1, 1, 2}, []int{r.High, r.Medium, r.Low, r.Pending, r.Total})
		case "":
			other = true
			require.Equal(t, "其他", r.Name)
			require.Equal(t, 1, r.Medium)
		}
	}
	require.True(t, canteen)
	require.True(t, other)
	require.Empty(t, d.RisksBySource[len(d.RisksBySource)-1].Source, "the risks of no source last")

	// Towns by district, then town, with every school's colour now.
	var towns []string
	for _, tw := range d.RisksByTown {
		towns = append(towns, tw.District+"/"+tw.Town)
	}
	require.Equal(t, []string{"南湖区/城南街道", "南湖区/新丰镇", "嘉善县/罗星街道", "秀洲区/王店镇"}, towns)
	cn := d.RisksByTown[0]
	// 城南街道: two schools, one red with a high and a medium risk, one green.
	require.Equal(t, []int{2, 1, 0, 1, 1, 1, 0, 2}, []int{cn.Schools, cn.Red, cn.Yellow, cn.Green, cn.High, cn.Medium, cn.Low, cn.Total})
	xf := d.RisksByTown[1]
	require.Equal(t, []int{1, 1, 0, 2, 1, 1, 3}, []int{xf.Schools, xf.Yellow, xf.High, xf.Medium, xf.Low, xf.Pending, xf.Total})

	// Unacknowledged alerts of schools in the registry, oldest first.
	al := d.AlertsUnacknowledged
	require.NotNil(t, al)
	require.Equal(t, 5, al.Count)
	require.Equal(t, "2025-06-08T20:00:00+08:00", *al.OldestOpenedAt)
	var ids []string
	for _, it := range al.Items {
		ids = append(ids, it.ID)
	}
	require.Equal(t, []string{"al-xz1", "al-js1", "al-nh1-canteen", "al-nh1", "al-nh2"}, ids)
	first := al.Items[0]
	require.Equal(t, "秀洲区高级中学", first.SchoolName, "the registry's name")
	require.Equal(t, "red", first.Level)
	require.Equal(t, int64(48*3600), first.AgeSeconds)
	require.Equal(t, 1, first.Step)

	// Overdue hazards of schools in the registry, most overdue first.
	hz := d.HazardsOverdue
	require.NotNil(t, hz)
	require.Equal(t, 3, hz.Count)
	require.Equal(t, 2, hz.Supervised)
	ids = nil
	for _, it := range hz.Items {
		ids = append(ids, it.ID)
	}
	require.Equal(t, []string{"HZ-xz1", "HZ-nh1-food", "HZ-nh2-water"}, ids)
	require.Equal(t, 5, hz.Items[0].DaysOverdue)
	require.Equal(t, 3, hz.Items[1].DaysOverdue, "three days and an hour")
	require.Equal(t, 0, hz.Items[2].DaysOverdue, "23 hours")
	require.True(t, hz.Items[1].Supervised)
	require.Equal(t, "南湖区实验小学", hz.Items[1].SchoolName)
	require.Equal(t, "2025-06-07T19:00:00+08:00", hz.Items[1].Deadline)
}

func TestDashboardScope(t *testing.T) {
	tests := []struct {
		name    string
		scope   Scope
		query   string
		schools []string
		alerts  []string
		hazards []string
		towns   int
	}{
		{
			name: "district", scope: Scope{District: "南湖区"},
			schools: []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"},
			alerts:  []string{"al-nh1-canteen", "al-nh1", "al-nh2"}, hazards: []string{"HZ-nh1-food", "HZ-nh2-water"}, towns: 2,
		},
		{
			name: "district asking for another district", scope: Scope{District: "南湖区"}, query: "?district=秀洲区",
			schools: nil, alerts: nil, hazards: nil, towns: 0,
		},
		{
			name: "school", scope: Scope{School: "JX-NH-0002"},
			schools: []string{"JX-NH-0002"}, alerts: []string{"al-nh2"}, hazards: []string{"HZ-nh2-water"}, towns: 1,
		},
		{
			name: "grants", scope: Scope{Any: []Scope{{District: "秀洲区"}, {School: "JX-NH-0002"}}},
			schools: []string{"JX-NH-0002", "JX-XZ-0001"}, alerts: []string{"al-xz1", "al-nh2"},
			hazards: []string{"HZ-xz1", "HZ-nh2-water"}, towns: 2,
		},
		{
			name: "none", scope: Scope{},
			schools: nil, alerts: nil, hazards: nil, towns: 0,
		},
		{
			name: "town", scope: ScopeAll, query: "?town=城南街道",
			schools: []string{"JX-NH-0001", "JX-NH-0003"}, alerts: []string{"al-nh1-canteen", "al-nh1"},
			hazards: []string{"HZ-nh1-food"}, towns: 1,
		},
		{
			name: "districts", scope: ScopeAll, query: "?district=秀洲区,嘉善县",
			schools: []string{"JX-JS-0001", "JX-XZ-0001"}, alerts: []string{"al-xz1", "al-js1"},
			hazards: []string{"HZ-xz1"}, towns: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts := &fakeColourCounts{}
			d := getDashboard(t, newDashboardServer(t, tt.scope, counts), tt.query)
			require.Equal(t, len(tt.schools), d.Schools)
			if ids := counts.last().ids; len(tt.schools) > 0 || len(ids) > 0 {
				require.Equal(t, tt.schools, ids, "the colours are counted over these schools only")
			}
			var alerts, hazards []string
			for _, it := range d.AlertsUnacknowledged.Items {
				alerts = append(alerts, it.ID)
			}
			for _, it := range d.HazardsOverdue.Items {
				hazards = append(hazards, it.ID)
			}
			require.Equal(t, tt.alerts, alerts)
			require.Equal(t, len(tt.alerts), d.AlertsUnacknowledged.Count)
			require.Equal(t, tt.hazards, hazards)
			require.Equal(t, len(tt.hazards), d.HazardsOverdue.Count)
			require.Len(t, d.RisksByTown, tt.towns)
			seen := 0
			for _, tw := range d.RisksByTown {
				seen += tw.Schools
			}
			require.Equal(t, len(tt.schools), seen)
		})
	}
}

func TestDashboardSource(t *testing.T) {
	d := getDashboard(t, newDashboardServer(t, ScopeAll, &fakeColourCounts{}), "?source=canteen")
	require.Len(t, d.RisksBySource, 1)
	require.Equal(t, "canteen", d.RisksBySource[0].Source)
	require.Equal(t, 2, d.RisksBySource[0].Total)
	total := 0
	for _, tw := range d.RisksByTown {
		total += tw.Total
	}
	require.Equal(t, 2, total, "the towns count the source's risks only")
	require.Equal(t, 5, d.Schools, "the source narrows risks, not schools")
	require.Equal(t, 1, d.AlertsUnacknowledged.Count)
	require.Equal(t, "al-nh1-canteen", d.AlertsUnacknowledged.Items[0].ID)
	require.Equal(t, 1, d.HazardsOverdue.Count, "a 食品安全 hazard counts with the canteen")
	require.Equal(t, "HZ-nh1-food", d.HazardsOverdue.Items[0].ID)

	d = getDashboard(t, newDashboardServer(t, ScopeAll, &fakeColourCounts{}), "?source=bullying&source=drowning")
	require.Equal(t, "drowning", d.RisksBySource[0].Source, "in the contract's order")
	require.Equal(t, "bullying", d.RisksBySource[1].Source)
	require.Equal(t, 2, d.AlertsUnacknowledged.Count)
	require.Equal(t, 2, d.HazardsOverdue.Count)
}

func TestDashboardAlertAges(t *testing.T) {
	ages := []time.Duration{
		0, 14*time.Minute + 59*time.Second, // lt_15m
		15 * time.Minute, 59 * time.Minute, // 15m_1h
		time.Hour, 3 * time.Hour, // 1h_4h
		4 * time.Hour, 23 * time.Hour, // 4h_24h
		24 * time.Hour, 30 * 24 * time.Hour, // gt_24h
		-time.Minute, // opened after the server's clock: the youngest
	}
	fa := &fakeAlerts{}
	for i, age := range ages {
		fa.alerts = append(fa.alerts, &alert.Alert{ID: fmt.Sprintf("al-%02d", i), SchoolID: "JX-NH-0001", District: "南湖区",
			Level: engine.LevelYellow, Status: alert.StatusFiring, OpenedAt: testNow.Add(-age)})
	}
	// Twenty more of the same age, for the cut of the list.
	for i := range 20 {
		fa.alerts = append(fa.alerts, &alert.Alert{ID: fmt.Sprintf("al-x%02d", i), SchoolID: "JX-NH-0002", District: "南湖区",
			Level: engine.LevelYellow, Status: alert.StatusFiring, OpenedAt: testNow.Add(-2 * time.Hour)})
	}
	s := newTestServer(t, Options{ColourCounts: (&fakeColourCounts{}).counts, Alerts: fa})
	d := getDashboard(t, s, "")
	al := d.AlertsUnacknowledged
	require.Equal(t, len(ages)+20, al.Count)
	var got []string
	byAge := map[string]int{}
	for _, b := range al.ByAge {
		got = append(got, b.Bucket)
		byAge[b.Bucket] = b.Count
	}
	require.Equal(t, []string{"lt_15m", "15m_1h", "1h_4h", "4h_24h", "gt_24h"}, got)
	require.Equal(t, map[string]int{"lt_15m": 3, "15m_1h": 2, "1h_4h": 22, "4h_24h": 2, "gt_24h": 2}, byAge)
	require.Len(t, al.Items, 20, "the twenty oldest")
	require.Equal(t, "al-09", al.Items[0].ID)
	require.Equal(t, int64(30*24*3600), al.Items[0].AgeSeconds)
	require.Equal(t, "al-08", al.Items[1].ID)
	require.Equal(t, "al-07", al.Items[2].ID)
	require.Equal(t, "al-06", al.Items[3].ID)
	require.Equal(t, "al-05", al.Items[4].ID)
	require.Equal(t, "al-x00", al.Items[5].ID, "the same age: by id")
	require.Equal(t, "al-x14", al.Items[19].ID)
}

func TestDashboardDays(t *testing.T) {
	counts := &fakeColourCounts{}
	s := newDashboardServer(t, ScopeAll, counts)
	d := getDashboard(t, s, "?days=30")
	require.Equal(t, 30, d.Days)
	require.Len(t, d.ColoursByDay, 30)
	require.Equal(t, "2025-05-12", d.ColoursByDay[0].Date)
	require.Equal(t, "2025-06-10", d.ColoursByDay[29].Date)
	require.Len(t, counts.last().at, 30)

	for _, q := range []string{"?days=5", "?days=x", "?days=-7"} {
		requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard"+q), http.StatusBadRequest, "days")
	}
	short := newTestServer(t, Options{ColourCounts: counts.counts, Limits: Limits{HistoryHorizon: 10 * 24 * time.Hour}})
	getDashboard(t, short, "?days=7")
	requireJSONError(t, serve(t, short.Handler(), http.MethodGet, "/api/v1/dashboard?days=30"), http.StatusBadRequest,
		"days", "before the history kept")
}

func TestDashboardErrors(t *testing.T) {
	t.Run("unknown source", func(t *testing.T) {
		s := newDashboardServer(t, ScopeAll, &fakeColourCounts{})
		requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard?source=canteen,weather"),
			http.StatusBadRequest, "source", `"weather"`, "canteen")
	})
	t.Run("history fails", func(t *testing.T) {
		s := newDashboardServer(t, ScopeAll, &fakeColourCounts{err: errors.New("connection refused")})
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard")
		requireJSONError(t, rec, http.StatusInternalServerError, "colours")
		require.NotContains(t, rec.Body.String(), "connection refused")
	})
	t.Run("not served without history", func(t *testing.T) {
		s := newTestServer(t, Options{Alerts: dashboardAlerts()})
		require.Equal(t, http.StatusNotFound, serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard").Code)
	})
	t.Run("without alerts and hazards", func(t *testing.T) {
		s := newTestServer(t, Options{ColourCounts: (&fakeColourCounts{}).counts})
		d := getDashboard(t, s, "")
		require.Nil(t, d.AlertsUnacknowledged)
		require.Nil(t, d.HazardsOverdue)
		require.Equal(t, 5, d.Schools)
	})
	t.Run("no alert", func(t *testing.T) {
		s := newTestServer(t, Options{ColourCounts: (&fakeColourCounts{}).counts, Alerts: &fakeAlerts{}, Hazards: &fakeHazards{}})
		rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard")
		d := decodeJSON[dashboardJSON](t, rec)
		require.Equal(t, 0, d.AlertsUnacknowledged.Count)
		require.Nil(t, d.AlertsUnacknowledged.OldestOpenedAt)
		require.Len(t, d.AlertsUnacknowledged.ByAge, 5)
		require.NotNil(t, d.AlertsUnacknowledged.Items, "an empty list, not null")
		require.Contains(t, rec.Body.String(), `"items":[]`)
	})
}

// TestDashboardCompliance: today's compliance is asked for the schools of
// the caller's scope and filters only, and served with the local date.
func TestDashboardCompliance(t *testing.T) {
	var asked []string
	s := newTestServer(t, Options{
		Schools: dashboardSchools(), ColourCounts: (&fakeColourCounts{}).counts,
		Compliance: func(_ context.Context, schools []*engine.School, now time.Time) ([]RoutineCompliance, error) {
			asked = asked[:0]
			for _, sc := range schools {
				asked = append(asked, sc.ID)
			}
			return []RoutineCompliance{{Rule: "canteen.no_sample_by_deadline", Title: "截至 13:00 未登记留样", Due: len(schools), Done: 1,
				Percent: 100 / float64(len(schools))}}, nil
		},
		Scope: func(*http.Request) (Scope, error) { return Scope{District: "南湖区"}, nil },
	})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/dashboard")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	raw := decodeJSON[map[string]any](t, rec)
	c, ok := raw["compliance"].(map[string]any)
	require.True(t, ok, "compliance: %v", raw["compliance"])
	require.Equal(t, "2025-06-10", c["date"])
	for _, id := range asked {
		require.Contains(t, []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"}, id, "only 南湖区's schools")
	}
	require.NotEmpty(t, asked)
	routines := c["routines"].([]any)
	require.Len(t, routines, 1)
	require.Equal(t, float64(len(asked)), routines[0].(map[string]any)["due"])
}
