package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
)

// fakeAlerts is an AlertService over a fixed set of alerts, applying the
// people's actions as the manager does.
type fakeAlerts struct {
	mu      sync.Mutex
	alerts  []*alert.Alert
	filters []alert.Filter
}

func (f *fakeAlerts) List(_ context.Context, flt alert.Filter) ([]*alert.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	var out []*alert.Alert
	for _, a := range f.alerts {
		if (flt.School == "" || a.SchoolID == flt.School) && (flt.District == "" || a.District == flt.District) &&
			(len(flt.Status) == 0 || slices.Contains(flt.Status, a.Status)) && (flt.Level == "" || a.Level == flt.Level) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeAlerts) Get(_ context.Context, id string) (*alert.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.alerts {
		if a.ID == id {
			return a, nil
		}
	}
	return nil, alert.ErrNotFound
}

func (f *fakeAlerts) Acknowledge(ctx context.Context, id, by, comment string) (*alert.Alert, error) {
	a, err := f.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.Status == alert.StatusResolved {
		return a, alert.ErrResolved
	}
	a.Status, a.AcknowledgedBy, a.AcknowledgedAt = alert.StatusAcknowledged, by, testNow
	a.History = append(a.History, alert.Entry{At: testNow, Action: alert.ActionAcknowledged, By: by, Comment: comment})
	return a, nil
}

func (f *fakeAlerts) Resolve(ctx context.Context, id, by, comment string) (*alert.Alert, error) {
	a, err := f.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.Status == alert.StatusResolved {
		return a, alert.ErrResolved
	}
	a.Status, a.ResolvedBy, a.ResolvedAt = alert.StatusResolved, by, testNow
	return a, nil
}

func testAlerts() *fakeAlerts {
	t0 := at("2025-06-09T07:42:00+08:00")
	return &fakeAlerts{alerts: []*alert.Alert{
		{ID: "alert:1", SchoolID: "JX-NH-0001", SchoolName: "南湖区实验小学", District: "南湖区", Level: engine.LevelRed,
			Status: alert.StatusFiring, Rule: "visitor.blacklist", Source: engine.SourceVisitor, Title: "禁入名单人员到访",
			Cause: "新增高风险：禁入名单人员到访", OpenedAt: t0, UpdatedAt: t0, Step: 2,
			History: []alert.Entry{{At: t0, Action: alert.ActionOpened}, {At: t0.Add(10 * time.Minute), Action: alert.ActionEscalated, Step: 2}}},
		{ID: "alert:2", SchoolID: "JX-XZ-0001", SchoolName: "秀洲区高级中学", District: "秀洲区", Level: engine.LevelRed,
			Status: alert.StatusResolved, Rule: "bullying.repeated", Title: "欺凌", OpenedAt: t0, ResolvedAt: t0.Add(time.Hour)},
	}}
}

func postJSON(t *testing.T, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}

func TestAlertsList(t *testing.T) {
	fa := testAlerts()
	h := newTestServer(t, Options{Alerts: fa}).Handler()

	rec := serve(t, h, http.MethodGet, "/api/v1/alerts")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decodeJSON[struct {
		Alerts []map[string]any `json:"alerts"`
		Total  int              `json:"total"`
	}](t, rec)
	require.Equal(t, 2, got.Total)
	a := got.Alerts[0]
	require.Equal(t, "alert:1", a["id"])
	require.Equal(t, "待处置", a["status_zh"])
	require.Equal(t, "红色", a["level_zh"])
	require.Equal(t, "区县教育局安全科", a["escalation_name"])
	require.Equal(t, "2025-06-09T07:42:00+08:00", a["opened_at"], "times for people in +08:00")
	require.Nil(t, a["acknowledged_at"])
	require.Len(t, a["history"], 2)

	rec = serve(t, h, http.MethodGet, "/api/v1/alerts?status=firing,acknowledged&level=red&school=JX-NH-0001&limit=10")
	require.Equal(t, http.StatusOK, rec.Code)
	flt := fa.filters[len(fa.filters)-1]
	require.Equal(t, []alert.Status{alert.StatusFiring, alert.StatusAcknowledged}, flt.Status)
	require.Equal(t, engine.LevelRed, flt.Level)
	require.Equal(t, 10, flt.Limit)

	for _, bad := range []string{"status=open", "level=green", "from=yesterday", "limit=0", "limit=x"} {
		requireJSONError(t, serve(t, h, http.MethodGet, "/api/v1/alerts?"+bad), http.StatusBadRequest)
	}
}

func TestAlertsScope(t *testing.T) {
	fa := testAlerts()
	h := newTestServer(t, Options{Alerts: fa, Scope: func(*http.Request) (Scope, error) {
		return Scope{District: "秀洲区"}, nil
	}}).Handler()
	rec := serve(t, h, http.MethodGet, "/api/v1/alerts")
	got := decodeJSON[struct {
		Alerts []map[string]any `json:"alerts"`
	}](t, rec)
	require.Len(t, got.Alerts, 1)
	require.Equal(t, "alert:2", got.Alerts[0]["id"])
	// Another district's alert is not there, for reading or acting.
	requireJSONError(t, serve(t, h, http.MethodGet, "/api/v1/alerts/alert:1"), http.StatusNotFound)
	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/alert:1/ack", `{"by":"x"}`), http.StatusNotFound)
	require.Equal(t, alert.StatusFiring, fa.alerts[0].Status)
}

func TestAlertActions(t *testing.T) {
	fa := testAlerts()
	h := newTestServer(t, Options{Alerts: fa}).Handler()

	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/alert:1/ack", `{"comment":"x"}`), http.StatusBadRequest, `"by"`)
	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/alert:1/resolve", `{"by":"王老师"}`), http.StatusBadRequest, `"comment"`)
	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/alert:1/ack", `{"by":"x","extra":1}`), http.StatusBadRequest)
	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/nope/ack", `{"by":"x"}`), http.StatusNotFound)
	require.Equal(t, alert.StatusFiring, fa.alerts[0].Status, "refused requests change nothing")

	rec := postJSON(t, h, "/api/v1/alerts/alert:1/ack", `{"by":"王老师","comment":"已到场处置"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decodeJSON[map[string]any](t, rec)
	require.Equal(t, "acknowledged", got["status"])
	require.Equal(t, "王老师", got["acknowledged_by"])

	rec = postJSON(t, h, "/api/v1/alerts/alert:1/resolve", `{"by":"王老师","comment":"人员已带离，门卫加强核验"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "resolved", decodeJSON[map[string]any](t, rec)["status"])

	requireJSONError(t, postJSON(t, h, "/api/v1/alerts/alert:2/resolve", `{"by":"x","comment":"y"}`), http.StatusConflict, "already resolved")

	// An id with "/" in it (a risk key), escaped in the path as the page sends it.
	fa.alerts = append(fa.alerts, &alert.Alert{ID: "alert:e1:drowning.fence_intrusion/车溪河", SchoolID: "JX-NH-0001",
		District: "南湖区", Level: engine.LevelRed, Status: alert.StatusFiring})
	rec = postJSON(t, h, "/api/v1/alerts/"+url.PathEscape("alert:e1:drowning.fence_intrusion/车溪河")+"/ack", `{"by":"王老师"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "acknowledged", decodeJSON[map[string]any](t, rec)["status"])
}

func TestStreamCarriesAlerts(t *testing.T) {
	hub := NewHub(16, nil)
	s := newTestServer(t, Options{Stream: hub})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	hub.PublishAlert(testAlerts().alerts[0])
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for !bytes.Contains(buf, []byte("\n\n")) || !bytes.Contains(buf, []byte("event: alert")) {
		n, err := resp.Body.Read(chunk)
		require.NoError(t, err)
		buf = append(buf, chunk[:n]...)
	}
	require.Contains(t, string(buf), `"id":"alert:1"`)
	require.Contains(t, string(buf), `"status":"firing"`)
}
