package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The dashboard (GET /api/v1/dashboard) and the report archive (GET
// /api/v1/reports) are served by work that may not be in this build yet.
// The browser tests check the page against the server's own answers; while
// the server answers 404, they give the browser a stand-in instead, made
// here from the server's other endpoints, so that the page's panels are
// tested all the same. The test logs which it used.

// apiSource answers one endpoint for a test: the server itself, or a
// stand-in while the server does not serve it.
type apiSource struct {
	in      *instance
	path    string
	standIn func(u *neturl.URL) (status int, contentType string, body []byte)
}

// newAPISource asks the server for path; on a 404 it uses standIn.
func newAPISource(t *testing.T, in *instance, path string, standIn func(u *neturl.URL) (int, string, []byte)) *apiSource {
	t.Helper()
	resp := in.request(http.MethodGet, path, "", nil)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s := &apiSource{in: in, path: path}
	if resp.StatusCode == http.StatusNotFound {
		t.Logf("GET %s answers 404 on this server: the page is checked against the test's stand-in; "+
			"once the server serves it, the same test checks the server's answers", path)
		s.standIn = standIn
	} else {
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
		t.Logf("GET %s is served: the page is checked against the server's answers", path)
	}
	return s
}

// get returns what the source answers to the path and query.
func (s *apiSource) get(t *testing.T, pathAndQuery string) (int, string, []byte) {
	t.Helper()
	u, err := neturl.Parse(pathAndQuery)
	require.NoError(t, err)
	if s.standIn != nil {
		return s.standIn(u)
	}
	resp := s.in.request(http.MethodGet, pathAndQuery, "", nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// getJSON decodes what the source answers.
func (s *apiSource) getJSON(t *testing.T, pathAndQuery string, v any) {
	t.Helper()
	status, _, body := s.get(t, pathAndQuery)
	require.Equal(t, http.StatusOK, status, "GET %s: %s", pathAndQuery, body)
	require.NoError(t, json.Unmarshal(body, v), "GET %s: %s", pathAndQuery, body)
}

// serveStandIns makes the browser tab of ctx take the stand-ins' answers
// for their paths (and the paths under them) instead of asking the server.
func serveStandIns(t *testing.T, ctx context.Context, sources ...*apiSource) {
	t.Helper()
	var patterns []*fetch.RequestPattern
	for _, s := range sources {
		if s.standIn != nil {
			patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*" + s.path + "*", RequestStage: fetch.RequestStageRequest})
		}
	}
	if len(patterns) == 0 {
		return
	}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go func() { // a command may not be sent from the listener itself
			u, err := neturl.Parse(e.Request.URL)
			var src *apiSource
			for _, s := range sources {
				if err == nil && s.standIn != nil && (u.Path == s.path || strings.HasPrefix(u.Path, s.path+"/")) {
					src = s
				}
			}
			if src == nil {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
				return
			}
			status, contentType, body := src.standIn(u)
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: e.RequestID, ResponseCode: int64(status), Body: body,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: contentType}},
			})
		}()
	}))
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns})
	require.NoError(t, err)
}

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
	Compliance *compliance `json:"compliance"`
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

type compliance struct {
	Date     string    `json:"date"`
	Routines []routine `json:"routines"`
}

type routine struct {
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

// dashboardStandIn makes GET /api/v1/dashboard from the map, the schools'
// details, the alerts and the hazards of the server, in the documented
// shape: today's colours for every day (the history is not rebuilt) and a
// fixed compliance of one routine.
func dashboardStandIn(t *testing.T, in *instance) func(u *neturl.URL) (int, string, []byte) {
	return func(u *neturl.URL) (int, string, []byte) {
		q := u.Query()
		district, town, source := q.Get("district"), q.Get("town"), q.Get("source")
		days := 7
		if q.Get("days") == "30" {
			days = 30
		}
		var meta struct {
			Sources []struct{ ID, Zh string } `json:"sources"`
		}
		in.getJSON("/api/v1/meta", &meta)
		names := map[string]string{}
		for _, s := range meta.Sources {
			names[s.ID] = s.Zh
		}
		var fc struct {
			Features []struct {
				Properties struct {
					SchoolID string `json:"school_id"`
					Name     string `json:"name"`
					District string `json:"district"`
					Town     string `json:"town"`
					Level    string `json:"level"`
					Active   int    `json:"active_risks"`
				} `json:"properties"`
			} `json:"features"`
		}
		in.getJSON("/api/v1/map", &fc)
		var doc dashboardDoc
		doc.GeneratedAt = time.Now()
		counts := map[string]int{}
		inScope := map[string]bool{}
		townOf := map[string][2]string{}
		bySource := map[string]*riskCount{}
		byTown := map[[2]string]*riskCount{}
		for _, f := range fc.Features {
			p := f.Properties
			if (district != "" && p.District != district) || (town != "" && p.Town != town) {
				continue
			}
			inScope[p.SchoolID] = true
			townOf[p.SchoolID] = [2]string{p.District, p.Town}
			doc.Schools++
			counts[p.Level]++
			if p.Active == 0 {
				continue
			}
			var d struct {
				ActiveRisks []struct {
					Source  string `json:"source"`
					Level   string `json:"level"`
					Pending bool   `json:"pending"`
				} `json:"active_risks"`
			}
			in.getJSON("/api/v1/schools/"+p.SchoolID, &d)
			key := [2]string{p.District, p.Town}
			tr := byTown[key]
			if tr == nil {
				tr = &riskCount{District: p.District, Town: p.Town}
				byTown[key] = tr
			}
			switch p.Level {
			case "red":
				tr.Red++
			case "yellow":
				tr.Yellow++
			}
			for _, r := range d.ActiveRisks {
				if source != "" && r.Source != source {
					continue
				}
				sr := bySource[r.Source]
				if sr == nil {
					sr = &riskCount{Source: r.Source, Name: names[r.Source]}
					bySource[r.Source] = sr
				}
				for _, c := range []*riskCount{sr, tr} {
					switch r.Level {
					case "high":
						c.High++
					case "medium":
						c.Medium++
					default:
						c.Low++
					}
				}
				if r.Pending {
					sr.Pending++
				}
			}
		}
		today := time.Now().In(shanghaiLoc)
		for i := days - 1; i >= 0; i-- {
			doc.ColoursByDay = append(doc.ColoursByDay, colourDay{today.AddDate(0, 0, -i).Format(time.DateOnly), counts["red"], counts["yellow"], counts["green"]})
		}
		for _, r := range bySource {
			doc.RisksBySource = append(doc.RisksBySource, *r)
		}
		sort.Slice(doc.RisksBySource, func(i, j int) bool { return doc.RisksBySource[i].Source < doc.RisksBySource[j].Source })
		for _, r := range byTown {
			if r.total() > 0 || r.Red+r.Yellow > 0 {
				doc.RisksByTown = append(doc.RisksByTown, *r)
			}
		}
		sort.Slice(doc.RisksByTown, func(i, j int) bool { return doc.RisksByTown[i].Town < doc.RisksByTown[j].Town })

		var alerts struct {
			Alerts []struct {
				ID             string    `json:"id"`
				SchoolID       string    `json:"school_id"`
				SchoolName     string    `json:"school_name"`
				Level          string    `json:"level"`
				Source         string    `json:"source"`
				OpenedAt       time.Time `json:"opened_at"`
				EscalationStep int       `json:"escalation_step"`
			} `json:"alerts"`
		}
		in.getJSON("/api/v1/alerts?status=firing&limit=500", &alerts)
		buckets := []string{"lt_15m", "15m_1h", "1h_4h", "4h_24h", "gt_24h"}
		byAge := map[string]int{}
		for _, a := range alerts.Alerts {
			if !inScope[a.SchoolID] || (source != "" && a.Source != source) {
				continue
			}
			age := time.Since(a.OpenedAt)
			b := "gt_24h"
			switch {
			case age < 15*time.Minute:
				b = "lt_15m"
			case age < time.Hour:
				b = "15m_1h"
			case age < 4*time.Hour:
				b = "1h_4h"
			case age < 24*time.Hour:
				b = "4h_24h"
			}
			byAge[b]++
			doc.Alerts.Count++
			if doc.Alerts.OldestOpenedAt == nil || a.OpenedAt.Before(*doc.Alerts.OldestOpenedAt) {
				at := a.OpenedAt
				doc.Alerts.OldestOpenedAt = &at
			}
			doc.Alerts.Items = append(doc.Alerts.Items, waitingAlert{a.ID, a.SchoolID, a.SchoolName, a.Level, a.OpenedAt, int(age.Seconds()), a.EscalationStep})
		}
		sort.SliceStable(doc.Alerts.Items, func(i, j int) bool { return doc.Alerts.Items[i].OpenedAt.Before(doc.Alerts.Items[j].OpenedAt) })
		for _, b := range buckets {
			doc.Alerts.ByAge = append(doc.Alerts.ByAge, ageBucket{b, byAge[b]})
		}

		var hazards struct {
			Hazards []struct {
				ID         string    `json:"id"`
				SchoolID   string    `json:"school_id"`
				SchoolName string    `json:"school_name"`
				Title      string    `json:"title"`
				Deadline   time.Time `json:"deadline"`
				Overdue    bool      `json:"overdue"`
				Supervised bool      `json:"supervised"`
			} `json:"hazards"`
		}
		in.getJSON("/api/v1/hazards?limit=1000", &hazards)
		for _, h := range hazards.Hazards {
			if !h.Overdue || !inScope[h.SchoolID] {
				continue
			}
			doc.Hazards.Count++
			if h.Supervised {
				doc.Hazards.Supervised++
			}
			doc.Hazards.Items = append(doc.Hazards.Items, overdueHazard{h.ID, h.SchoolID, h.SchoolName, h.Title, h.Deadline, int(time.Since(h.Deadline).Hours() / 24), h.Supervised})
		}
		if district == "" || district == "南湖区" {
			doc.Compliance = &compliance{Date: today.Format(time.DateOnly), Routines: []routine{
				{"canteen.no_sample_by_deadline", "留样", 120, 118, 98.3},
			}}
		}
		body, err := json.Marshal(doc)
		require.NoError(t, err)
		return http.StatusOK, "application/json; charset=utf-8", body
	}
}

var shanghaiLoc = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(fmt.Sprintf("load Asia/Shanghai: %v", err))
	}
	return loc
}()

// reportDoc is one report of GET /api/v1/reports.
type reportDoc struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Scope       map[string]string `json:"scope"`
	From        time.Time         `json:"from"`
	To          time.Time         `json:"to"`
	Title       string            `json:"title"`
	GeneratedAt time.Time         `json:"generated_at"`
	Formats     []string          `json:"formats"`
	Summary     map[string]any    `json:"summary"`
}

// reportsStandIn answers GET /api/v1/reports with three archived reports of
// the demo district, filtered by district and kind, and GET
// /api/v1/reports/{id}?format= with a small rendering of each.
func reportsStandIn() func(u *neturl.URL) (int, string, []byte) {
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, shanghaiLoc)
	made := day.AddDate(0, 0, 1).Add(30 * time.Minute)
	archive := []reportDoc{
		{ID: "rpt-nh-daily-20261203", Kind: "daily", Scope: map[string]string{"district": "南湖区"}, From: day, To: day.AddDate(0, 0, 1),
			Title: "南湖区校园安全日报（2026年12月3日）", GeneratedAt: made, Formats: []string{"html", "csv", "pdf"},
			Summary: map[string]any{"schools": 60, "red": 1, "yellow": 3, "green": 56, "risks": 7, "alerts": 4, "hazards_overdue": 1,
				"lines": []string{"红色时间最长：嘉兴市南湖区城南幼儿园（3 小时）"}}},
		{ID: "rpt-nh-weekly-20261130", Kind: "weekly", Scope: map[string]string{"district": "南湖区"}, From: day.AddDate(0, 0, -3), To: day.AddDate(0, 0, 4),
			Title: "南湖区校园安全周报（2026年11月30日—12月6日）", GeneratedAt: made, Formats: []string{"html", "csv"},
			Summary: map[string]any{"schools": 60, "red": 0, "yellow": 2, "green": 58, "risks": 21, "alerts": 9, "hazards_overdue": 2}},
		{ID: "rpt-xz-daily-20261203", Kind: "daily", Scope: map[string]string{"district": "秀洲区"}, From: day, To: day.AddDate(0, 0, 1),
			Title: "秀洲区校园安全日报（2026年12月3日）", GeneratedAt: made, Formats: []string{"html", "csv", "pdf"},
			Summary: map[string]any{"schools": 55, "red": 0, "yellow": 1, "green": 54, "risks": 2, "alerts": 1, "hazards_overdue": 0}},
	}
	return func(u *neturl.URL) (int, string, []byte) {
		if id, ok := strings.CutPrefix(u.Path, "/api/v1/reports/"); ok {
			for _, r := range archive {
				if r.ID != id {
					continue
				}
				switch f := u.Query().Get("format"); f {
				case "html":
					return http.StatusOK, "text/html; charset=utf-8", []byte("<!doctype html><title>" + r.Title + "</title><h1>" + r.Title + "</h1>")
				case "csv":
					return http.StatusOK, "text/csv; charset=utf-8", []byte("school_id,level\nJX-NH-0001,red\n")
				case "pdf":
					return http.StatusOK, "application/pdf", []byte("%PDF-1.4\n%%EOF\n")
				default:
					return http.StatusBadRequest, "application/json", []byte(`{"error":"format"}`)
				}
			}
			return http.StatusNotFound, "application/json", []byte(`{"error":"no such report"}`)
		}
		q := u.Query()
		out := struct {
			Reports []reportDoc `json:"reports"`
		}{Reports: []reportDoc{}}
		for _, r := range archive {
			if (q.Get("district") == "" || r.Scope["district"] == q.Get("district")) && (q.Get("kind") == "" || r.Kind == q.Get("kind")) {
				out.Reports = append(out.Reports, r)
			}
		}
		body, _ := json.Marshal(out)
		return http.StatusOK, "application/json; charset=utf-8", body
	}
}
