package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// dashboardDoc is the body of GET /api/v1/dashboard.
type dashboardDoc struct {
	GeneratedAt   time.Time   `json:"generated_at"`
	Schools       int         `json:"schools"`
	ColoursByDay  []colourDay `json:"colours_by_day"`
	RisksBySource []riskCount `json:"risks_by_source"`
	RisksByTown   []riskCount `json:"risks_by_town"`
	Alerts        struct {
		Count          int            `json:"count"`
		OldestOpenedAt *time.Time     `json:"oldest_opened_at"`
		ByAge          []ageBucket    `json:"by_age"`
		Items          []waitingAlert `json:"items"`
	} `json:"alerts_unacknowledged"`
	Hazards struct {
		Count      int             `json:"count"`
		Supervised int             `json:"supervised"`
		Items      []overdueHazard `json:"items"`
	} `json:"hazards_overdue"`
	Compliance *dashCompliance `json:"compliance"`
}

type colourDay struct {
	Date   string `json:"date"`
	Red    int    `json:"red"`
	Yellow int    `json:"yellow"`
	Green  int    `json:"green"`
}

type ageBucket struct {
	Bucket string `json:"bucket"`
	Count  int    `json:"count"`
}

type waitingAlert struct {
	ID         string    `json:"id"`
	SchoolID   string    `json:"school_id"`
	SchoolName string    `json:"school_name"`
	Level      string    `json:"level"`
	OpenedAt   time.Time `json:"opened_at"`
	AgeSeconds int       `json:"age_seconds"`
	Step       int       `json:"step"`
}

type overdueHazard struct {
	ID          string    `json:"id"`
	SchoolID    string    `json:"school_id"`
	SchoolName  string    `json:"school_name"`
	Title       string    `json:"title"`
	Deadline    time.Time `json:"deadline"`
	DaysOverdue int       `json:"days_overdue"`
	Supervised  bool      `json:"supervised"`
}

type dashCompliance struct {
	Date     string        `json:"date"`
	Routines []dashRoutine `json:"routines"`
}

type dashRoutine struct {
	Rule    string  `json:"rule"`
	Title   string  `json:"title"`
	Due     int     `json:"due"`
	Done    int     `json:"done"`
	Percent float64 `json:"percent"`
}

// riskCount is a row of risks_by_source or risks_by_town.
type riskCount struct {
	Source   string `json:"source,omitempty"`
	Name     string `json:"name,omitempty"`
	District string `json:"district,omitempty"`
	Town     string `json:"town,omitempty"`
	High     int    `json:"high"`
	Medium   int    `json:"medium"`
	Low      int    `json:"low"`
	Pending  int    `json:"pending,omitempty"`
	Red      int    `json:"red,omitempty"`
	Yellow   int    `json:"yellow,omitempty"`
}

func (r riskCount) total() int { return r.High + r.Medium + r.Low }

// dashboardShown is what the page's panels show (window.sanse.dashboard()).
type dashboardShown struct {
	Query   string `json:"query"`
	Days    int    `json:"days"`
	Colours *struct {
		Dates  []string `json:"dates"`
		Red    []int    `json:"red"`
		Yellow []int    `json:"yellow"`
		Green  []int    `json:"green"`
	} `json:"colours"`
	Sources   *shownBars `json:"sources"`
	SourceIDs []string   `json:"sourceIds"`
	Towns     *shownBars `json:"towns"`
	TownKeys  []string   `json:"townKeys"`
	Alerts    struct {
		Count int      `json:"count"`
		Ages  []int    `json:"ages"`
		Items []string `json:"items"`
	} `json:"alerts"`
	Hazards struct {
		Count          int      `json:"count"`
		SupervisedText string   `json:"supervisedText"`
		Items          []string `json:"items"`
	} `json:"hazards"`
	Compliance *struct {
		Titles  []string  `json:"titles"`
		Percent []float64 `json:"percent"`
	} `json:"compliance"`
	ComplianceNote string `json:"complianceNote"`
}

type shownBars struct {
	Categories []string `json:"categories"`
	High       []int    `json:"high"`
	Medium     []int    `json:"medium"`
	Low        []int    `json:"low"`
}

// Panel sizes of dashboard.js.
const (
	dashTownsShown = 8
	dashListShown  = 6
)

// dashboardDiff returns how what the page shows differs from what the API
// answers for the same query, "" when it does not.
func dashboardDiff(got dashboardShown, want dashboardDoc) string {
	var diffs []string
	check := func(what string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			diffs = append(diffs, fmt.Sprintf("%s: page %v, API %v", what, a, b))
		}
	}
	if got.Colours == nil {
		return "no colours chart"
	}
	var dates []string
	var red, yellow, green []int
	for _, d := range want.ColoursByDay {
		dates = append(dates, d.Date[5:])
		red, yellow, green = append(red, d.Red), append(yellow, d.Yellow), append(green, d.Green)
	}
	check("colour dates", got.Colours.Dates, dates)
	check("red per day", got.Colours.Red, red)
	check("yellow per day", got.Colours.Yellow, yellow)
	check("green per day", got.Colours.Green, green)

	// The charts draw the rows with risks, in the server's order but for
	// the sort below (a stable one, as the page's); the towns only the first.
	bars := func(what string, shown *shownBars, keys []string, all []riskCount, key func(riskCount) string, limit int) {
		var rows []riskCount
		for _, r := range all {
			if r.total() > 0 {
				rows = append(rows, r)
			}
		}
		sort.SliceStable(rows, func(i, j int) bool {
			if what == "towns" {
				a, b := rows[i], rows[j]
				if a.High != b.High {
					return a.High > b.High
				}
				if a.Medium != b.Medium {
					return a.Medium > b.Medium
				}
			}
			if rows[i].total() != rows[j].total() {
				return rows[i].total() > rows[j].total()
			}
			return false
		})
		if limit > 0 && len(rows) > limit {
			rows = rows[:limit]
		}
		byKey := map[string]riskCount{}
		var wantKeys []string
		for _, r := range rows {
			byKey[key(r)] = r
			wantKeys = append(wantKeys, key(r))
		}
		check(what+" shown", keys, wantKeys)
		if shown == nil {
			diffs = append(diffs, "no "+what+" chart")
			return
		}
		for i, k := range keys {
			r := byKey[k]
			check(what+" "+k, []int{shown.High[i], shown.Medium[i], shown.Low[i]}, []int{r.High, r.Medium, r.Low})
		}
	}
	bars("sources", got.Sources, got.SourceIDs, append([]riskCount(nil), want.RisksBySource...), func(r riskCount) string { return r.Source }, 0)
	bars("towns", got.Towns, got.TownKeys, append([]riskCount(nil), want.RisksByTown...), func(r riskCount) string { return r.District + "/" + r.Town }, dashTownsShown)

	check("alerts waiting", got.Alerts.Count, want.Alerts.Count)
	ages := map[string]int{}
	for _, b := range want.Alerts.ByAge {
		ages[b.Bucket] = b.Count
	}
	var wantAges []int
	for _, b := range []string{"lt_15m", "15m_1h", "1h_4h", "4h_24h", "gt_24h"} {
		wantAges = append(wantAges, ages[b])
	}
	check("alerts by age", got.Alerts.Ages[:5], wantAges)
	var alertIDs []string
	for i, a := range want.Alerts.Items {
		if i < dashListShown {
			alertIDs = append(alertIDs, a.ID)
		}
	}
	check("alerts listed", got.Alerts.Items, alertIDs)

	check("hazards overdue", got.Hazards.Count, want.Hazards.Count)
	if !strings.Contains(got.Hazards.SupervisedText, fmt.Sprint(want.Hazards.Supervised)) {
		diffs = append(diffs, fmt.Sprintf("supervised: page %q, API %d", got.Hazards.SupervisedText, want.Hazards.Supervised))
	}
	var hazardIDs []string
	for i, h := range want.Hazards.Items {
		if i < dashListShown {
			hazardIDs = append(hazardIDs, h.ID)
		}
	}
	check("hazards listed", got.Hazards.Items, hazardIDs)

	if want.Compliance == nil || len(want.Compliance.Routines) == 0 {
		check("compliance", got.Compliance == nil, true)
		check("compliance note", got.ComplianceNote, "暂无数据")
	} else if got.Compliance == nil {
		diffs = append(diffs, "no compliance chart")
	} else {
		var titles []string
		var percent []float64
		for _, r := range want.Compliance.Routines {
			titles, percent = append(titles, r.Title), append(percent, r.Percent)
		}
		check("compliance routines", got.Compliance.Titles, titles)
		check("compliance percent", got.Compliance.Percent, percent)
	}
	return strings.Join(diffs, "\n")
}

// serverJSON decodes what the server answers to GET path, which must be 200.
func serverJSON(t *testing.T, in *instance, path string, v any) {
	t.Helper()
	resp := in.request(http.MethodGet, path, "", nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	require.NoError(t, json.Unmarshal(body, v), "GET %s: %s", path, body)
}

// waitDashboardAgrees waits until the panels show what GET
// /api/v1/dashboard answers for their query, and returns both.
func waitDashboardAgrees(t *testing.T, ctx context.Context, in *instance, what string, also func(dashboardShown) bool) (dashboardShown, dashboardDoc) {
	t.Helper()
	var got dashboardShown
	var want dashboardDoc
	diff := "nothing shown"
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got = eval[dashboardShown](t, ctx, `window.sanse.dashboard() || {}`)
		if got.Query != "" && (also == nil || also(got)) {
			serverJSON(t, in, "/api/v1/dashboard?"+got.Query, &want)
			if diff = dashboardDiff(got, want); diff == "" {
				return got, want
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: the panels do not show what GET /api/v1/dashboard?%s answers:\n%s", what, got.Query, diff)
	return got, want
}

// TestBrowserDashboard: the panels beside the map show the numbers GET
// /api/v1/dashboard answers for the page's filters, for the demo district
// and for one of its counties, over 7 and 30 days; a click on a source, a
// town, an alert or a hazard filters the map or opens it; a change on the
// live stream shows in the panels without a reload.
func TestBrowserDashboard(t *testing.T) {
	chromiumPath(t)
	clickhouseDSN(t)
	artifacts := artifactsDir(t)
	in, broker := startDemoMap(t)
	base := "http://" + in.web
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/alerts", nil), "GET /api/v1/alerts")

	// Risks of several sources in two counties, alerts waiting, and a
	// hazard that goes overdue at once.
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{
		visitorEntry("dash-1", "JX-NH-0001", "blacklist"),
		visitorEntry("dash-2", "JX-NH-0002", "watch"),
		rodentDetection("dash-3", "JX-NH-0003", "cam-kitchen-3", "MK-3001"),
		visitorEntry("dash-4", "JX-XZ-0001", "blacklist"),
		visitorEntry("dash-5", "JX-HY-0002", "watch"),
	}, 0))
	require.Equal(t, http.StatusCreated, in.postAPI("/api/v1/hazards", map[string]any{
		"school_id": "JX-NH-0004", "title": "配电房堆放杂物", "category": "消防", "level": "low",
		"responsible": "总务主任", "deadline": "1s", "by": "区安全科",
	}, nil))
	waitFor(t, 20*time.Second, "the incidents, alerts and the overdue hazard", func() bool {
		l := mapLevels(t, in)
		var hz struct {
			Hazards []struct {
				Overdue bool `json:"overdue"`
			} `json:"hazards"`
		}
		in.getJSON("/api/v1/hazards?school=JX-NH-0004", &hz)
		var al struct {
			Alerts []struct{} `json:"alerts"`
		}
		in.getJSON("/api/v1/alerts?status=firing", &al)
		return l["JX-NH-0001"] == "red" && l["JX-NH-0002"] == "yellow" && l["JX-XZ-0001"] == "red" && l["JX-HY-0002"] == "yellow" &&
			len(hz.Hazards) == 1 && hz.Hazards[0].Overdue && len(al.Alerts) >= 4
	})

	ctx := newBrowser(t, 1600, 900)
	in.signIn(t, ctx)
	watch := watchPage(t, ctx)

	// The whole demo district, then one county.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	waitPage(t, ctx)
	got, want := waitDashboardAgrees(t, ctx, in, "the demo district", nil)
	require.Equal(t, "days=7", got.Query)
	require.Len(t, got.Colours.Dates, 7)
	require.NotEmpty(t, want.RisksBySource)
	require.Positive(t, want.Alerts.Count)
	require.Positive(t, want.Hazards.Count)
	screenshot(t, ctx, filepath.Join(artifacts, "dashboard.png"))

	choose(t, ctx, "f-district", "南湖区")
	got, _ = waitDashboardAgrees(t, ctx, in, "南湖区", func(d dashboardShown) bool { return strings.Contains(d.Query, "district=") })
	require.Equal(t, "district=%E5%8D%97%E6%B9%96%E5%8C%BA&days=7", got.Query, "the panels follow the district filter")

	// 30 days, kept in the address.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-dash-days="30"]`))))
	got, _ = waitDashboardAgrees(t, ctx, in, "30 days", func(d dashboardShown) bool { return strings.Contains(d.Query, "days=30") })
	require.Len(t, got.Colours.Dates, 30)
	require.Equal(t, "30", eval[string](t, ctx, `new URLSearchParams(location.search).get("days")`))

	// A click on a source's bar: the map shows the schools with a risk of
	// that source, and the panels follow.
	i := indexOf(got.SourceIDs, "visitor")
	require.GreaterOrEqual(t, i, 0, "a visitor bar: %v", got.SourceIDs)
	at := eval[point](t, ctx, fmt.Sprintf(`window.sanse.dashboardPixel("sources", %d)`, i))
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(at.X, at.Y)))
	waitJS(t, ctx, 10*time.Second, "the source filter set by the click", `document.getElementById("f-source").value === "visitor"`)
	waitFor(t, 10*time.Second, "the map shows 南湖区's schools with a visitor risk", func() bool {
		drawn := eval[map[string]drawnPoint](t, ctx, `window.sanse.drawn()`)
		_, one := drawn["JX-NH-0001"]
		_, two := drawn["JX-NH-0002"]
		return len(drawn) == 2 && one && two
	})
	require.Equal(t, "visitor", eval[string](t, ctx, `new URLSearchParams(location.search).get("source")`))
	waitDashboardAgrees(t, ctx, in, "the source filter", func(d dashboardShown) bool { return strings.Contains(d.Query, "source=visitor") })

	// A click on a town's bar: that town on the map.
	choose(t, ctx, "f-source", "")
	choose(t, ctx, "f-district", "")
	got, _ = waitDashboardAgrees(t, ctx, in, "all again", func(d dashboardShown) bool {
		return !strings.Contains(d.Query, "district=") && !strings.Contains(d.Query, "source=")
	})
	require.NotEmpty(t, got.TownKeys)
	district, town, _ := strings.Cut(got.TownKeys[0], "/")
	at = eval[point](t, ctx, `window.sanse.dashboardPixel("towns", 0)`)
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(at.X, at.Y)))
	waitJS(t, ctx, 10*time.Second, "the town filter set by the click", fmt.Sprintf(
		`document.getElementById("f-district").value === %q && document.getElementById("f-town").value === %q`, district, town))
	var fc struct {
		Features []struct {
			Properties struct {
				SchoolID string `json:"school_id"`
				Town     string `json:"town"`
			} `json:"properties"`
		} `json:"features"`
	}
	require.Equal(t, http.StatusOK, in.getJSON("/api/v1/map?district="+neturl.QueryEscape(district), &fc))
	var inTown []string
	for _, f := range fc.Features {
		if f.Properties.Town == town {
			inTown = append(inTown, f.Properties.SchoolID)
		}
	}
	drawn := eval[map[string]drawnPoint](t, ctx, `window.sanse.drawn()`)
	var drawnIDs []string
	for id := range drawn {
		drawnIDs = append(drawnIDs, id)
	}
	require.ElementsMatch(t, inTown, drawnIDs, "the map shows the schools of %s %s", district, town)

	// A click on a waiting alert opens it; on an overdue hazard, it.
	got, want = waitDashboardAgrees(t, ctx, in, "the town", func(d dashboardShown) bool { return strings.Contains(d.Query, "town=") })
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.side #f-reset`))))
	got, want = waitDashboardAgrees(t, ctx, in, "all again", func(d dashboardShown) bool { return !strings.Contains(d.Query, "town=") })
	require.NotEmpty(t, got.Alerts.Items)
	first := got.Alerts.Items[0]
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-dash-alert="`+first+`"]`))))
	waitJS(t, ctx, 10*time.Second, "the alert open", fmt.Sprintf(`document.querySelector("#d-focus [data-alert=" + JSON.stringify(%q) + "]") !== null`, first))
	require.Equal(t, first, eval[string](t, ctx, `new URLSearchParams(location.search).get("alert")`))
	// Escape closes the alert; below 1700 pixels the panels come back in
	// its place, and are asked for again.
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("\x1b")))
	waitJS(t, ctx, 5*time.Second, "the panels back", `getComputedStyle(document.getElementById("dash")).display !== "none"`)
	time.Sleep(500 * time.Millisecond)
	got, _ = waitDashboardAgrees(t, ctx, in, "the panels back", nil)
	require.NotEmpty(t, got.Hazards.Items)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-dash-hazard="`+got.Hazards.Items[0]+`"]`))))
	waitJS(t, ctx, 10*time.Second, "the hazard open", detailShows("配电房堆放杂物"))
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("\x1b")))

	// The live stream: a new red school shows in the panels, no reload.
	before := want.Alerts.Count
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__sanseNavigations = performance.getEntriesByType("navigation").length`)))
	require.NoError(t, produce(ctx0, []string{broker}, []kafka.Message{visitorEntry("dash-6", "JX-TX-0003", "blacklist")}, 0))
	waitFor(t, 10*time.Second, "a new alert in the API", func() bool {
		var al struct {
			Alerts []struct{} `json:"alerts"`
		}
		in.getJSON("/api/v1/alerts?status=firing&school=JX-TX-0003", &al)
		return len(al.Alerts) > 0
	})
	waitDashboardAgrees(t, ctx, in, "after the stream's change", func(d dashboardShown) bool { return d.Alerts.Count > before })
	require.Equal(t, 1, eval[int](t, ctx, `window.__sanseNavigations`), "no reload")

	watch.checkOnlyOwnHost(t, in.web)
	watch.checkNoErrors(t)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
