package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser tests check the page's panels against the server's own
// answers (GET /api/v1/dashboard, GET /api/v1/reports). An endpoint that a
// build may not serve yet (the report archive) has a stand-in here: while
// the server answers 404, the browser is given the stand-in's answers
// instead, so that the page is tested all the same. The test logs which it
// used.

// apiSource answers one endpoint for a test: the server itself, or a
// stand-in while the server does not serve it.
type apiSource struct {
	in      *instance
	path    string
	standIn func(u *neturl.URL) (status int, contentType string, body []byte)
}

// newAPISource asks the server for path; on a 404 it uses standIn, and
// without one the test fails.
func newAPISource(t *testing.T, in *instance, path string, standIn func(u *neturl.URL) (int, string, []byte)) *apiSource {
	t.Helper()
	resp := in.request(http.MethodGet, path, "", nil)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s := &apiSource{in: in, path: path}
	if resp.StatusCode == http.StatusNotFound {
		require.NotNil(t, standIn, "GET %s is not served", path)
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
