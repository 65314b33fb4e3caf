package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/report"
)

// The report service is what serves the reports in production.
var _ ReportService = (*report.Service)(nil)

func shanghaiDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, engine.Shanghai)
}

// fakeReports is a fixed archive that records what it is asked.
type fakeReports struct {
	mu       sync.Mutex
	entries  []report.Entry
	content  map[string][]byte // id/format → rendering
	filters  []report.Filter
	specs    []report.Spec
	ctxs     []context.Context
	generate error
}

func (f *fakeReports) List(_ context.Context, filter report.Filter) ([]report.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, filter)
	if filter.None {
		return nil, nil
	}
	var out []report.Entry
	for _, e := range f.entries {
		if filter.District == "" || e.District == filter.District {
			out = append(out, e)
		}
	}
	if filter.Limit > 0 && len(out) > filter.Limit {
		out = out[:filter.Limit]
	}
	return out, nil
}

func (f *fakeReports) Get(_ context.Context, id string) (report.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.entries {
		if e.ID == id {
			return e, nil
		}
	}
	return report.Entry{}, fmt.Errorf("report %q: %w", id, report.ErrNotFound)
}

func (f *fakeReports) Content(_ context.Context, id string, format report.Format) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.content[id+"/"+string(format)]
	if !ok {
		return nil, report.ErrNoContent
	}
	return b, nil
}

func (f *fakeReports) Generate(ctx context.Context, spec report.Spec) (report.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs = append(f.specs, spec)
	f.ctxs = append(f.ctxs, ctx)
	if f.generate != nil {
		return report.Entry{}, f.generate
	}
	out := &report.Output{Spec: spec, Title: "自定义报告", Generated: testNow, HTML: []byte("<p>"), CSV: []byte("a")}
	return report.NewEntry("c0001", out, "", "", "南湖区"), nil
}

// testReports holds a district's daily report (with a PDF), a school's
// weekly report (without) and another district's daily report.
func testReports() *fakeReports {
	daily := report.Entry{
		ID: "r-nanhu", Spec: report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区"},
			From: shanghaiDay(2025, 6, 9), To: shanghaiDay(2025, 6, 10)},
		District: "南湖区", Title: "南湖区校园安全日报（2025年6月9日）", Generated: time.Date(2025, 6, 10, 7, 30, 2, 0, engine.Shanghai),
		Summary:  report.Summary{Schools: 3, Red: 1, Yellow: 1, Green: 1, EverRed: 1, Risks: 4, Alerts: 2, HazardsOpened: 1, Lines: []string{"南湖区实验小学红色。"}},
		Schedule: "district-daily", Key: "district-daily/daily/district:南湖区/2025-06-09",
		Formats: []report.Format{report.FormatHTML, report.FormatCSV, report.FormatPDF},
	}
	weekly := report.Entry{
		ID: "r-school", Spec: report.Spec{Kind: report.KindWeekly, Scope: report.Scope{School: "JX-NH-0002"},
			From: shanghaiDay(2025, 6, 2), To: shanghaiDay(2025, 6, 9)},
		District: "南湖区", Title: "南湖区第二中学校园安全周报", Generated: time.Date(2025, 6, 9, 8, 0, 0, 0, engine.Shanghai),
		Schedule: "weekly-schools", Formats: []report.Format{report.FormatHTML, report.FormatCSV},
	}
	other := report.Entry{
		ID: "r-xiuzhou", Spec: report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "秀洲区"},
			From: shanghaiDay(2025, 6, 9), To: shanghaiDay(2025, 6, 10)},
		District: "秀洲区", Title: "秀洲区校园安全日报", Generated: time.Date(2025, 6, 10, 7, 30, 1, 0, engine.Shanghai),
		Schedule: "district-daily", Formats: []report.Format{report.FormatHTML, report.FormatCSV, report.FormatPDF},
	}
	return &fakeReports{
		entries: []report.Entry{daily, other, weekly},
		content: map[string][]byte{
			"r-nanhu/html": []byte("<h1>南湖区校园安全日报</h1>"), "r-nanhu/csv": []byte("学校,颜色\n"), "r-nanhu/pdf": []byte("%PDF-1.7"),
			"r-school/html": []byte("<h1>周报</h1>"), "r-school/csv": []byte("x\n"),
			"r-xiuzhou/html": []byte("<h1>秀洲</h1>"),
		},
	}
}

// newReportServer serves svc with the scope of the X-Scope-* headers.
func newReportServer(t *testing.T, svc ReportService) *Server {
	t.Helper()
	scope := func(r *http.Request) (Scope, error) {
		if d := r.Header.Get("X-Scope-District"); d != "" {
			return Scope{District: d}, nil
		}
		if s := r.Header.Get("X-Scope-School"); s != "" {
			return Scope{School: s}, nil
		}
		if r.Header.Get("X-Scope-None") != "" {
			return Scope{}, nil
		}
		return ScopeAll, nil
	}
	return newTestServer(t, Options{Scope: scope, Reports: svc})
}

func TestReportList(t *testing.T) {
	fake := testReports()
	s := newReportServer(t, fake)
	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/reports?limit=1", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{
  "reports": [
    {"id": "r-nanhu", "kind": "daily", "scope": {"district": "南湖区"}, "from": "2025-06-09", "to": "2025-06-09",
     "title": "南湖区校园安全日报（2025年6月9日）", "generated_at": "2025-06-10T07:30:02+08:00",
     "formats": ["html", "csv", "pdf"],
     "summary": {"schools": 3, "red": 1, "yellow": 1, "green": 1, "ever_red": 1, "ever_yellow": 0, "risks": 4, "alerts": 2,
                 "hazards_opened": 1, "hazards_overdue": 0, "lines": ["南湖区实验小学红色。"]},
     "schedule": "district-daily"}
  ],
  "next": 1
}`, rec.Body.String())

	rec = hazardRequest(t, s, http.MethodGet, "/api/v1/reports?district=南湖区&scope=school", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[reportList](t, rec)
	require.Nil(t, body.Next, "the last page has no next")
	require.Equal(t, reportScopeJSON{SchoolID: "JX-NH-0002", SchoolName: "南湖区第二中学"}, body.Reports[1].Scope)
	require.Equal(t, "2025-06-02", body.Reports[1].From)
	require.Equal(t, "2025-06-08", body.Reports[1].To, "the last day, inclusive")
}

func TestReportListFilters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		query   string
		headers []string
		want    report.Filter
	}{
		{name: "none", query: "", want: report.Filter{Limit: DefaultListLimit}},
		{name: "every filter", query: "?district=南湖区&school=JX-NH-0001&kind=weekly&scope=school&from=2025-06-01&to=2025-06-07&limit=10&offset=20",
			want: report.Filter{District: "南湖区", School: "JX-NH-0001", Kind: report.KindWeekly, ScopeKind: "school",
				From: shanghaiDay(2025, 6, 1), To: shanghaiDay(2025, 6, 8), Limit: 10, Offset: 20}},
		{name: "a district's token", headers: []string{"X-Scope-District", "南湖区"},
			want: report.Filter{Grants: []report.Scope{{District: "南湖区"}}, Limit: DefaultListLimit}},
		{name: "a school's token", headers: []string{"X-Scope-School", "JX-NH-0001"},
			want: report.Filter{Grants: []report.Scope{{School: "JX-NH-0001"}}, Limit: DefaultListLimit}},
		{name: "a scope of nothing", headers: []string{"X-Scope-None", "1"}, want: report.Filter{None: true, Limit: DefaultListLimit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := testReports()
			rec := hazardRequest(t, newReportServer(t, fake), http.MethodGet, "/api/v1/reports"+tc.query, "", tc.headers...)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Len(t, fake.filters, 1)
			got := fake.filters[0]
			require.True(t, tc.want.From.Equal(got.From) && tc.want.To.Equal(got.To), "period %s–%s", got.From, got.To)
			got.From, got.To, tc.want.From, tc.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			require.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct{ query, want string }{
		{"?kind=yearly", `invalid parameter kind: unknown report kind "yearly"`},
		{"?scope=town", `invalid parameter scope "town"`},
		{"?from=June", `invalid from "June": expected a date such as 2026-11-01`},
		{"?from=2025-06-09&to=2025-06-01", "the period ends before it begins"},
		{"?limit=0", "invalid parameter limit"},
		{"?offset=-1", "invalid parameter offset"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := hazardRequest(t, newReportServer(t, testReports()), http.MethodGet, "/api/v1/reports"+tc.query, "")
			requireJSONError(t, rec, http.StatusBadRequest, tc.want)
		})
	}
}

func TestReportDownload(t *testing.T) {
	s := newReportServer(t, testReports())
	for _, tc := range []struct {
		query, contentType, name, body string
	}{
		{"", "text/html; charset=utf-8", "sanse-report-daily-南湖区-2025-06-09.html", "<h1>南湖区校园安全日报</h1>"},
		{"?format=csv", "text/csv; charset=utf-8", "sanse-report-daily-南湖区-2025-06-09.csv", "学校,颜色\n"},
		{"?format=pdf", "application/pdf", "sanse-report-daily-南湖区-2025-06-09.pdf", "%PDF-1.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := hazardRequest(t, s, http.MethodGet, "/api/v1/reports/r-nanhu"+tc.query, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.body, rec.Body.String())
			cd := rec.Header().Get("Content-Disposition")
			require.True(t, isASCII(cd), "the header is ASCII: %s", cd)
			disposition, params, err := mime.ParseMediaType(cd)
			require.NoError(t, err)
			require.Equal(t, "attachment", disposition)
			require.Equal(t, tc.name, params["filename"], "filename* carries the UTF-8 name")
			require.Empty(t, rec.Header().Get("Content-Security-Policy"))
		})
	}

	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/reports/r-nanhu?format=html&inline=true", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Disposition"), "inline; "))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "sandbox")
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")

	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/reports/r-school?format=pdf", ""),
		http.StatusNotFound, `report "r-school" has no PDF: no PDF renderer was available when this report was made`)
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/reports/nope", ""), http.StatusNotFound, `report "nope" not found`)
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/reports/r-nanhu?format=docx", ""),
		http.StatusBadRequest, `unknown report format "docx" (expected html, csv or pdf)`)
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/reports/r-nanhu?inline=maybe", ""), http.StatusBadRequest, "inline")
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > 0x7e })
}

// TestReportDownloadScope: a district's token reads its district's reports
// and its schools'; a school's token its school's only. Others are not
// found, as if they did not exist.
func TestReportDownloadScope(t *testing.T) {
	s := newReportServer(t, testReports())
	for _, tc := range []struct {
		header, value string
		allowed       []string
	}{
		{"X-Scope-District", "南湖区", []string{"r-nanhu", "r-school"}},
		{"X-Scope-District", "秀洲区", []string{"r-xiuzhou"}},
		{"X-Scope-School", "JX-NH-0002", []string{"r-school"}},
		{"X-Scope-School", "JX-NH-0001", nil},
	} {
		for _, id := range []string{"r-nanhu", "r-school", "r-xiuzhou"} {
			rec := hazardRequest(t, s, http.MethodGet, "/api/v1/reports/"+id, "", tc.header, tc.value)
			if slices.Contains(tc.allowed, id) {
				require.Equal(t, http.StatusOK, rec.Code, "%s %s reads %s", tc.header, tc.value, id)
			} else {
				requireJSONError(t, rec, http.StatusNotFound, "not found")
			}
		}
	}
}

func TestReportCreate(t *testing.T) {
	fake := testReports()
	s := newReportServer(t, fake)
	rec := hazardRequest(t, s, http.MethodPost, "/api/v1/reports",
		`{"kind":"custom","district":"南湖区","from":"2025-05-01","to":"2025-05-31"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "/api/v1/reports/c0001", rec.Header().Get("Location"))
	body := decodeJSON[reportJSON](t, rec)
	require.Equal(t, "c0001", body.ID)
	require.Equal(t, "2025-05-01", body.From)
	require.Equal(t, "2025-05-31", body.To)
	require.Empty(t, body.Schedule)
	require.Equal(t, []report.Format{report.FormatHTML, report.FormatCSV}, body.Formats)
	require.Len(t, fake.specs, 1)
	spec := fake.specs[0]
	require.Equal(t, report.Scope{District: "南湖区"}, spec.Scope)
	require.Equal(t, report.KindCustom, spec.Kind)
	require.Equal(t, shanghaiDay(2025, 5, 1), spec.From, "local midnight")
	require.Equal(t, shanghaiDay(2025, 6, 1), spec.To, "the last day inclusive: its end")
	_, hasDeadline := fake.ctxs[0].Deadline()
	require.True(t, hasDeadline, "making a report is bounded")

	// The periodic kinds take their period exactly; kind defaults to custom.
	for _, body := range []string{
		`{"kind":"daily","school_id":"JX-NH-0001","from":"2025-06-09","to":"2025-06-09"}`,
		`{"kind":"weekly","district":"南湖区","from":"2025-06-02","to":"2025-06-08"}`,
		`{"kind":"monthly","district":"南湖区","from":"2025-05-01","to":"2025-05-31"}`,
		`{"district":"南湖区","from":"2025-06-10","to":"2025-06-10"}`,
	} {
		rec := hazardRequest(t, s, http.MethodPost, "/api/v1/reports", body)
		require.Equal(t, http.StatusCreated, rec.Code, "%s: %s", body, rec.Body.String())
	}
	require.Equal(t, report.KindCustom, fake.specs[4].Kind)
}

func TestReportCreateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		svcErr  error
		code    int
		want    string
	}{
		{name: "no scope", body: `{"from":"2025-06-01","to":"2025-06-02"}`, code: 400,
			want: `missing field "district" or "school_id": a report covers a district or one school`},
		{name: "both scopes", body: `{"district":"南湖区","school_id":"JX-NH-0001","from":"2025-06-01","to":"2025-06-02"}`, code: 400,
			want: `set "district" or "school_id", not both`},
		{name: "no dates", body: `{"district":"南湖区"}`, code: 400,
			want: `missing required fields "from" and "to": the first and the last day of the period, such as "2026-11-01" and "2026-11-30"`},
		{name: "not a date", body: `{"district":"南湖区","from":"2025/06/01","to":"2025-06-02"}`, code: 400,
			want: `invalid field from "2025/06/01": expected a date such as 2026-11-01`},
		{name: "ends before it begins", body: `{"district":"南湖区","from":"2025-06-05","to":"2025-06-01"}`, code: 400,
			want: "the period ends (2025-06-01) before it begins (2025-06-05)"},
		{name: "in the future", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-11"}`, code: 400,
			want: "the period ends after today (2025-06-10)"},
		{name: "too long", body: `{"district":"南湖区","from":"2023-01-01","to":"2025-06-01"}`, code: 400,
			want: "a report covers at most 400 days"},
		{name: "unknown kind", body: `{"kind":"yearly","district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`, code: 400,
			want: `invalid field kind: unknown report kind "yearly" (expected daily, weekly, monthly or custom)`},
		{name: "a week that is not Monday to Sunday", body: `{"kind":"weekly","district":"南湖区","from":"2025-06-03","to":"2025-06-09"}`, code: 400,
			want: "a weekly report covers one week, Monday to Sunday: 2025-06-02 to 2025-06-08, not 2025-06-03 to 2025-06-09; use kind custom"},
		{name: "a daily report of two days", body: `{"kind":"daily","district":"南湖区","from":"2025-06-03","to":"2025-06-04"}`, code: 400,
			want: "a daily report covers one day"},
		{name: "unknown field", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01","format":"pdf"}`, code: 400,
			want: `unknown field "format"`},
		{name: "another district's token", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`,
			headers: []string{"X-Scope-District", "秀洲区"}, code: 403,
			want: "your scope (district 秀洲区) does not cover district 南湖区"},
		{name: "a school's token asks for its district", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`,
			headers: []string{"X-Scope-School", "JX-NH-0001"}, code: 403, want: "does not cover district 南湖区"},
		{name: "a school of another district", body: `{"school_id":"JX-XZ-0001","from":"2025-06-01","to":"2025-06-01"}`,
			headers: []string{"X-Scope-District", "南湖区"}, code: 404, want: `school "JX-XZ-0001" not found`},
		{name: "an unknown school", body: `{"school_id":"JX-NH-9999","from":"2025-06-01","to":"2025-06-01"}`, code: 404,
			want: `school "JX-NH-9999" not found`},
		{name: "an unknown district", body: `{"district":"北湖区","from":"2025-06-01","to":"2025-06-01"}`,
			svcErr: fmt.Errorf("district:北湖区: %w", report.ErrUnknownScope), code: 404,
			want: `district "北湖区" not found: the registry has no school in it`},
		{name: "busy", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`, svcErr: report.ErrBusy, code: 503,
			want: "other reports are being made; try again in a minute"},
		{name: "unavailable", body: `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`,
			svcErr: fmt.Errorf("%w: report generator: not available", report.ErrUnavailable), code: 503,
			want: "reports cannot be made on this server: report generator: not available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := testReports()
			fake.generate = tc.svcErr
			rec := hazardRequest(t, newReportServer(t, fake), http.MethodPost, "/api/v1/reports", tc.body, tc.headers...)
			requireJSONError(t, rec, tc.code, tc.want)
			if tc.svcErr == nil {
				require.Empty(t, fake.specs, "nothing is made")
			}
			if errors.Is(tc.svcErr, report.ErrBusy) {
				require.Equal(t, "60", rec.Header().Get("Retry-After"))
			}
		})
	}
}

// TestReportCreateScopeAllows: a district's token makes reports of its
// district and of its schools.
func TestReportCreateScopeAllows(t *testing.T) {
	fake := testReports()
	s := newReportServer(t, fake)
	for _, body := range []string{
		`{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`,
		`{"school_id":"JX-NH-0002","from":"2025-06-01","to":"2025-06-01"}`,
	} {
		rec := hazardRequest(t, s, http.MethodPost, "/api/v1/reports", body, "X-Scope-District", "南湖区")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	}
	rec := hazardRequest(t, s, http.MethodPost, "/api/v1/reports", `{"school_id":"JX-NH-0002","from":"2025-06-01","to":"2025-06-01"}`,
		"X-Scope-School", "JX-NH-0002")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}

// TestReportCreateIsAudited: making a report is an operator's act, recorded
// in the audit log before and after; a viewer may list but not make.
func TestReportCreateIsAudited(t *testing.T) {
	au := &fakeAudit{}
	fake := testReports()
	h := newTestServer(t, Options{Reports: fake, Auth: &AuthOptions{
		Verifier: fakeVerifier{
			"sanse_op":     {Name: "nanhu-op", Role: auth.RoleOperator, Scope: auth.Scope{Districts: []string{"南湖区"}}},
			"sanse_viewer": {Name: "nanhu-viewer", Role: auth.RoleViewer, Scope: auth.Scope{Districts: []string{"南湖区"}}},
		},
		Audit: au.write,
	}}).Handler()
	send := func(token, method, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/v1/reports", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	require.Equal(t, http.StatusOK, send("sanse_viewer", http.MethodGet, "").Code)
	require.Equal(t, http.StatusForbidden, send("sanse_viewer", http.MethodPost, `{"district":"南湖区","from":"2025-06-01","to":"2025-06-01"}`).Code)
	require.Empty(t, fake.specs)

	w := send("sanse_op", http.MethodPost, `{"district":"南湖区","from":"2025-06-01","to":"2025-06-07"}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	au.mu.Lock()
	defer au.mu.Unlock()
	var mine []auth.Entry
	for _, e := range au.entries {
		if e.Action == auth.ActionReportCreate {
			mine = append(mine, e)
		}
	}
	require.Len(t, mine, 2, "pending, then the outcome")
	require.Equal(t, auth.ResultPending, mine[0].Result)
	require.Equal(t, auth.ResultOK, mine[1].Result)
	require.Equal(t, "district:南湖区", mine[1].Target)
	require.Equal(t, "nanhu-op", mine[1].Actor)
	require.JSONEq(t, `{"kind":"custom","from":"2025-06-01","to":"2025-06-07"}`, string(mine[1].Detail))
}
