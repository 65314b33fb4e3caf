package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/hazard"
)

// The hazard manager is what serves the hazards in production.
var _ HazardService = (*hazard.Manager)(nil)

// fakeHazards is a fixed set of hazards that records the calls it gets.
type fakeHazards struct {
	mu       sync.Mutex
	hazards  []*hazard.Hazard
	history  map[string][]hazard.Transition
	filters  []hazard.Filter
	creates  []hazard.NewHazard
	changes  []hazardChange
	getErr   error
	writeErr error
}

type hazardChange struct {
	id       string
	action   hazard.Action
	by       string
	comment  string
	evidence []hazard.Evidence
	// hasDeadline and ctxErr say what the call's context was like.
	hasDeadline bool
	ctxErr      error
}

func (f *fakeHazards) List(filter hazard.Filter) []*hazard.Hazard {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, filter)
	var out []*hazard.Hazard
	for _, h := range f.hazards {
		if (len(filter.Statuses) == 0 || slices.Contains(filter.Statuses, h.Status)) &&
			(len(filter.Categories) == 0 || slices.Contains(filter.Categories, h.Category)) &&
			(!filter.Overdue || h.Overdue(filter.Now)) &&
			(filter.School == nil || filter.School(h.SchoolID)) {
			out = append(out, h.Clone())
		}
	}
	return out
}

func (f *fakeHazards) find(id string) *hazard.Hazard {
	for _, h := range f.hazards {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func (f *fakeHazards) Get(_ context.Context, id string) (*hazard.Hazard, []hazard.Transition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, nil, f.getErr
	}
	h := f.find(id)
	if h == nil {
		return nil, nil, fmt.Errorf("hazard %q: %w", id, hazard.ErrNotFound)
	}
	return h.Clone(), slices.Clone(f.history[id]), nil
}

func (f *fakeHazards) Create(_ context.Context, req hazard.NewHazard) (*hazard.Hazard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, req)
	if f.writeErr != nil {
		return nil, f.writeErr
	}
	level := req.Level
	if level == "" {
		level = engine.SeverityMedium
	}
	h := &hazard.Hazard{
		ID: "HZ-NEW", SchoolID: req.SchoolID, Title: req.Title, Category: req.Category, Level: level,
		Responsible: req.Responsible, Deadline: req.Deadline, Status: hazard.StatusOpen,
		CreatedAt: testNow, CreatedBy: req.By, UpdatedAt: testNow, Version: 1,
	}
	f.hazards = append(f.hazards, h)
	return h.Clone(), nil
}

func (f *fakeHazards) Transition(ctx context.Context, id string, action hazard.Action, by, comment string, evidence []hazard.Evidence) (*hazard.Hazard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, deadline := ctx.Deadline()
	f.changes = append(f.changes, hazardChange{id: id, action: action, by: by, comment: comment, evidence: evidence,
		hasDeadline: deadline, ctxErr: ctx.Err()})
	if f.writeErr != nil {
		return nil, f.writeErr
	}
	h := f.find(id)
	if h == nil {
		return nil, fmt.Errorf("hazard %q: %w", id, hazard.ErrNotFound)
	}
	to, err := hazard.Next(h.Status, action)
	if err != nil {
		return nil, &hazard.TransitionError{ID: id, From: h.Status, Action: action}
	}
	h.Status, h.Version = to, h.Version+1
	return h.Clone(), nil
}

// testHazards returns three hazards: an inspector's at JX-NH-0001, overdue
// and supervised; a rule's at JX-NH-0002, being rectified; and one at
// JX-XZ-0001, submitted.
func testHazards() *fakeHazards {
	nh1 := &hazard.Hazard{
		ID: "HZ-01", SchoolID: "JX-NH-0001", Title: "学校东侧河道护栏破损", Category: hazard.CategoryDrowning,
		Level: engine.SeverityMedium, Responsible: "王副校长", Deadline: at("2025-06-09T18:00:00+08:00"),
		Status: hazard.StatusOpen,
		Evidence: []hazard.Evidence{{Kind: hazard.EvidenceLink, Value: "https://files.example.cn/p/1.jpg", By: "李督学",
			At: at("2025-06-08T01:00:00Z")}},
		CreatedAt: at("2025-06-08T01:00:00Z"), CreatedBy: "李督学", UpdatedAt: at("2025-06-09T10:01:00Z"),
		SupervisedAt: at("2025-06-09T10:01:00Z"), Version: 2,
	}
	nh2 := &hazard.Hazard{
		ID: "HZR-02", SchoolID: "JX-NH-0002", Title: "后厨发现老鼠", Category: hazard.CategoryFood,
		Level: engine.SeverityHigh, Responsible: "食堂负责人", Deadline: at("2025-06-11T08:00:00+08:00"),
		Status: hazard.StatusRectifying, Origin: hazard.Origin{Rule: "canteen.rodent", Key: "后厨", Source: engine.SourceCanteen},
		CreatedAt: at("2025-06-10T00:00:00Z"), CreatedBy: hazard.System, UpdatedAt: at("2025-06-10T02:00:00Z"), Version: 2,
	}
	xz := &hazard.Hazard{
		ID: "HZ-03", SchoolID: "JX-XZ-0001", Title: "门卫室未配备防暴器材", Category: hazard.CategoryGate,
		Level: engine.SeverityLow, Responsible: "保卫科", Deadline: at("2025-06-20T18:00:00+08:00"),
		Status: hazard.StatusSubmitted, CreatedAt: at("2025-06-01T00:00:00Z"), CreatedBy: "李督学",
		UpdatedAt: at("2025-06-05T00:00:00Z"), Version: 3,
	}
	return &fakeHazards{
		hazards: []*hazard.Hazard{nh1, nh2, xz},
		history: map[string][]hazard.Transition{
			"HZ-01": {
				{ID: "HZ-01:1", HazardID: "HZ-01", SchoolID: "JX-NH-0001", Version: 1, At: at("2025-06-08T01:00:00Z"),
					Action: hazard.ActionCreate, To: hazard.StatusOpen, By: "李督学", Comment: "巡查发现", Evidence: nh1.Evidence},
				{ID: "HZ-01:2", HazardID: "HZ-01", SchoolID: "JX-NH-0001", Version: 2, At: at("2025-06-09T10:01:00Z"),
					Action: hazard.ActionSupervise, From: hazard.StatusOpen, To: hazard.StatusOpen, By: hazard.System,
					Comment: "超过整改期限（2025-06-09 18:00）未销号，挂牌督办"},
			},
		},
	}
}

// newHazardServer returns a test server serving svc, with the scope the
// header X-Scope-District or X-Scope-School names (every school without).
func newHazardServer(t *testing.T, svc HazardService) *Server {
	t.Helper()
	scope := func(r *http.Request) (Scope, error) {
		if r.Header.Get("X-Scope-Bad") != "" {
			return Scope{}, errors.New("invalid token")
		}
		if d := r.Header.Get("X-Scope-District"); d != "" {
			return Scope{District: d}, nil
		}
		if s := r.Header.Get("X-Scope-School"); s != "" {
			return Scope{School: s}, nil
		}
		return ScopeAll, nil
	}
	return newTestServer(t, Options{Scope: scope, Hazards: svc})
}

// hazardRequest sends a request with a JSON body (none when body is "") and
// the given headers, as name, value pairs.
func hazardRequest(t *testing.T, s *Server, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHazardList(t *testing.T) {
	fake := testHazards()
	s := newHazardServer(t, fake)
	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/hazards", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{
  "total": 3, "overdue": 1,
  "hazards": [
    {"id": "HZ-01", "school_id": "JX-NH-0001", "school_name": "南湖区实验小学", "district": "南湖区",
     "title": "学校东侧河道护栏破损", "category": "防溺水", "level": "medium", "level_zh": "中风险",
     "status": "open", "status_zh": "待整改", "responsible": "王副校长", "deadline": "2025-06-09T18:00:00+08:00",
     "overdue": true, "supervised": true, "supervised_at": "2025-06-09T18:01:00+08:00", "verified_at": null,
     "created_at": "2025-06-08T09:00:00+08:00", "created_by": "李督学", "updated_at": "2025-06-09T18:01:00+08:00",
     "origin": {"kind": "inspector"}, "actions": ["start", "comment"],
     "evidence": [{"kind": "link", "value": "https://files.example.cn/p/1.jpg", "by": "李督学", "at": "2025-06-08T09:00:00+08:00"}]},
    {"id": "HZR-02", "school_id": "JX-NH-0002", "school_name": "南湖区第二中学", "district": "南湖区",
     "title": "后厨发现老鼠", "category": "食品安全", "level": "high", "level_zh": "高风险",
     "status": "rectifying", "status_zh": "整改中", "responsible": "食堂负责人", "deadline": "2025-06-11T08:00:00+08:00",
     "overdue": false, "supervised": false, "supervised_at": null, "verified_at": null,
     "created_at": "2025-06-10T08:00:00+08:00", "created_by": "system", "updated_at": "2025-06-10T10:00:00+08:00",
     "origin": {"kind": "rule", "rule": "canteen.rodent", "key": "后厨"}, "actions": ["submit", "comment"], "evidence": []},
    {"id": "HZ-03", "school_id": "JX-XZ-0001", "school_name": "秀洲区高级中学", "district": "秀洲区",
     "title": "门卫室未配备防暴器材", "category": "门卫安保", "level": "low", "level_zh": "低风险",
     "status": "submitted", "status_zh": "待验收", "responsible": "保卫科", "deadline": "2025-06-20T18:00:00+08:00",
     "overdue": false, "supervised": false, "supervised_at": null, "verified_at": null,
     "created_at": "2025-06-01T08:00:00+08:00", "created_by": "李督学", "updated_at": "2025-06-05T08:00:00+08:00",
     "origin": {"kind": "inspector"}, "actions": ["verify", "reject", "comment"], "evidence": []}
  ]
}`, rec.Body.String())
	require.Equal(t, testNow, fake.filters[0].Now, "overdue is judged at the server's clock")
}

func TestHazardListFilters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		query   string
		headers []string
		want    []string
	}{
		{name: "status", query: "?status=open,submitted", want: []string{"HZ-01", "HZ-03"}},
		{name: "status repeated", query: "?status=rectifying&status=submitted", want: []string{"HZR-02", "HZ-03"}},
		{name: "category", query: "?category=食品安全", want: []string{"HZR-02"}},
		{name: "overdue", query: "?overdue=true", want: []string{"HZ-01"}},
		{name: "overdue false is no filter", query: "?overdue=false", want: []string{"HZ-01", "HZR-02", "HZ-03"}},
		{name: "school", query: "?school=JX-XZ-0001", want: []string{"HZ-03"}},
		{name: "district", query: "?district=南湖区", want: []string{"HZ-01", "HZR-02"}},
		{name: "district scope", headers: []string{"X-Scope-District", "秀洲区"}, want: []string{"HZ-03"}},
		{name: "district scope and another district", query: "?district=南湖区",
			headers: []string{"X-Scope-District", "秀洲区"}, want: []string{}},
		{name: "school scope", headers: []string{"X-Scope-School", "JX-NH-0002"}, want: []string{"HZR-02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHazardServer(t, testHazards())
			rec := hazardRequest(t, s, http.MethodGet, "/api/v1/hazards"+tc.query, "", tc.headers...)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			body := decodeJSON[struct {
				Hazards []struct {
					ID string `json:"id"`
				} `json:"hazards"`
				Total int `json:"total"`
			}](t, rec)
			ids := []string{}
			for _, h := range body.Hazards {
				ids = append(ids, h.ID)
			}
			require.Equal(t, tc.want, ids)
			require.Equal(t, len(tc.want), body.Total)
		})
	}
}

func TestHazardListBadRequest(t *testing.T) {
	s := newHazardServer(t, testHazards())
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards?status=closed", ""),
		http.StatusBadRequest, "invalid parameter status", `unknown status "closed"`)
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards?overdue=yes", ""),
		http.StatusBadRequest, `invalid parameter overdue: "yes" is not true or false`)
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards", "", "X-Scope-Bad", "1"),
		http.StatusUnauthorized, "invalid token")
}

func TestHazardDetail(t *testing.T) {
	s := newHazardServer(t, testHazards())
	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-01", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[map[string]any](t, rec)
	require.Equal(t, "HZ-01", body["id"])
	require.Equal(t, "南湖区实验小学", body["school_name"])
	require.Equal(t, true, body["supervised"])
	history := body["history"].([]any)
	require.Len(t, history, 2)
	require.Equal(t, map[string]any{
		"at": "2025-06-08T09:00:00+08:00", "action": "create", "action_zh": "登记隐患", "from": "", "to": "open",
		"by": "李督学", "comment": "巡查发现",
		"evidence": []any{map[string]any{"kind": "link", "value": "https://files.example.cn/p/1.jpg", "by": "李督学", "at": "2025-06-08T09:00:00+08:00"}},
	}, history[0])
	require.Equal(t, "挂牌督办", history[1].(map[string]any)["action_zh"])
	require.Equal(t, "system", history[1].(map[string]any)["by"])

	// A hazard without history still has a list.
	rec = hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZR-02", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, []any{}, decodeJSON[map[string]any](t, rec)["history"])
}

func TestHazardDetailNotFound(t *testing.T) {
	s := newHazardServer(t, testHazards())
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-99", ""),
		http.StatusNotFound, `hazard "HZ-99" not found`)
	// Out of scope looks the same as unknown.
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-01", "", "X-Scope-District", "秀洲区"),
		http.StatusNotFound, `hazard "HZ-01" not found`)

	fake := testHazards()
	fake.getErr = errors.New("clickhouse down")
	s = newHazardServer(t, fake)
	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-01", "")
	requireJSONError(t, rec, http.StatusInternalServerError, `could not read hazard "HZ-01"`)
	require.NotContains(t, rec.Body.String(), "clickhouse")
}

func TestHazardCreate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline string
		want     time.Time
	}{
		{name: "RFC 3339", deadline: "2025-06-13T18:00:00+08:00", want: at("2025-06-13T18:00:00+08:00")},
		{name: "hours", deadline: "72h", want: testNow.Add(72 * time.Hour)},
		{name: "days", deadline: "3d", want: testNow.Add(72 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := testHazards()
			s := newHazardServer(t, fake)
			rec := hazardRequest(t, s, http.MethodPost, "/api/v1/hazards", fmt.Sprintf(`{
  "school_id": "JX-NH-0003", "title": "消防通道堆放杂物", "category": "消防", "level": "low",
  "responsible": "后勤主任", "deadline": %q, "by": "李督学", "comment": "检查发现",
  "evidence": [{"kind": "link", "value": "https://files.example.cn/p/7.jpg"}, {"kind": "text", "value": "北侧通道"}]
}`, tc.deadline))
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			require.Equal(t, "/api/v1/hazards/HZ-NEW", rec.Header().Get("Location"))
			body := decodeJSON[map[string]any](t, rec)
			require.Equal(t, "HZ-NEW", body["id"])
			require.Equal(t, "南湖区城南幼儿园", body["school_name"])
			require.Equal(t, "待整改", body["status_zh"])
			require.Equal(t, []hazard.NewHazard{{
				SchoolID: "JX-NH-0003", Title: "消防通道堆放杂物", Category: "消防", Level: engine.SeverityLow,
				Responsible: "后勤主任", Deadline: tc.want, By: "李督学", Comment: "检查发现",
				Evidence: []hazard.Evidence{
					{Kind: hazard.EvidenceLink, Value: "https://files.example.cn/p/7.jpg"},
					{Kind: hazard.EvidenceText, Value: "北侧通道"},
				},
			}}, fake.creates)
		})
	}
}

func TestHazardCreateRefused(t *testing.T) {
	valid := func(change string) string {
		fields := map[string]string{
			"school_id": `"JX-NH-0001"`, "title": `"护栏破损"`, "category": `"防溺水"`, "responsible": `"王副校长"`,
			"deadline": `"72h"`, "by": `"李督学"`,
		}
		if k, v, ok := strings.Cut(change, "="); ok {
			if v == "" {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
		var parts []string
		for k, v := range fields {
			parts = append(parts, fmt.Sprintf("%q: %s", k, v))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	for _, tc := range []struct {
		name    string
		body    string
		headers []string
		code    int
		want    []string
	}{
		{name: "nothing", body: `{}`, code: http.StatusBadRequest,
			want: []string{`missing required fields "school_id", "title", "category", "responsible", "deadline", "by"`}},
		{name: "no responsible", body: valid("responsible="), code: http.StatusBadRequest,
			want: []string{`missing required field "responsible"`, "who rectifies it"}},
		{name: "bad deadline", body: valid(`deadline="next week"`), code: http.StatusBadRequest,
			want: []string{"invalid field deadline", `"next week" is neither an RFC 3339 time`}},
		{name: "negative deadline", body: valid(`deadline="-2h"`), code: http.StatusBadRequest,
			want: []string{"must be positive"}},
		{name: "bad level", body: valid(`level="critical"`), code: http.StatusBadRequest,
			want: []string{"invalid field level", `unknown level "critical"`}},
		{name: "unknown field", body: valid(`owner="x"`), code: http.StatusBadRequest,
			want: []string{`unknown field "owner"`, "school_id, title, category"}},
		{name: "unknown evidence field", body: valid(`evidence=[{"kind":"text","value":"x","by":"y"}]`), code: http.StatusBadRequest,
			want: []string{`unknown field "by"`}},
		{name: "a number for a string", body: valid(`title=7`), code: http.StatusBadRequest,
			want: []string{`field "title" must be a string, not number`}},
		{name: "evidence not a list", body: valid(`evidence="x"`), code: http.StatusBadRequest,
			want: []string{`field "evidence" must be a list, not string`}},
		{name: "empty body", body: " ", code: http.StatusBadRequest, want: []string{"the body is empty"}},
		{name: "unknown school", body: valid(`school_id="JX-XX-0001"`), code: http.StatusNotFound,
			want: []string{`school "JX-XX-0001" not found`}},
		{name: "school out of scope", body: valid(""), headers: []string{"X-Scope-District", "秀洲区"}, code: http.StatusNotFound,
			want: []string{`school "JX-NH-0001" not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := testHazards()
			s := newHazardServer(t, fake)
			requireJSONError(t, hazardRequest(t, s, http.MethodPost, "/api/v1/hazards", tc.body, tc.headers...), tc.code, tc.want...)
			require.Empty(t, fake.creates)
		})
	}

	t.Run("not JSON", func(t *testing.T) {
		s := newHazardServer(t, testHazards())
		requireJSONError(t, hazardRequest(t, s, http.MethodPost, "/api/v1/hazards", "title=x", "Content-Type", "application/x-www-form-urlencoded"),
			http.StatusUnsupportedMediaType, "application/json")
	})
	t.Run("the service refuses", func(t *testing.T) {
		fake := testHazards()
		fake.writeErr = fmt.Errorf("%w: unknown category \"交通\"", hazard.ErrInvalid)
		s := newHazardServer(t, fake)
		requireJSONError(t, hazardRequest(t, s, http.MethodPost, "/api/v1/hazards", valid(`category="交通"`)),
			http.StatusBadRequest, `unknown category "交通"`)
	})
	t.Run("the store fails", func(t *testing.T) {
		fake := testHazards()
		fake.writeErr = errors.New("clickhouse down")
		s := newHazardServer(t, fake)
		rec := hazardRequest(t, s, http.MethodPost, "/api/v1/hazards", valid(""))
		requireJSONError(t, rec, http.StatusInternalServerError, "could not register the hazard")
		require.NotContains(t, rec.Body.String(), "clickhouse")
	})
}

func TestHazardTransition(t *testing.T) {
	fake := testHazards()
	s := newHazardServer(t, fake)
	rec := hazardRequest(t, s, http.MethodPost, "/api/v1/hazards/HZ-03/transition", `{
  "action": "verify", "by": " 李督学 ", "comment": "复查合格，同意销号",
  "evidence": [{"kind": "link", "value": "https://files.example.cn/p/8.jpg"}]
}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[map[string]any](t, rec)
	require.Equal(t, "verified", body["status"])
	require.Equal(t, "已销号", body["status_zh"])
	require.Equal(t, []any{}, body["actions"], "nothing follows verification")
	require.Equal(t, []hazardChange{{
		id: "HZ-03", action: hazard.ActionVerify, by: " 李督学 ", comment: "复查合格，同意销号",
		evidence:    []hazard.Evidence{{Kind: hazard.EvidenceLink, Value: "https://files.example.cn/p/8.jpg"}},
		hasDeadline: true,
	}}, fake.changes)
}

func TestHazardTransitionRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		target  string
		body    string
		headers []string
		code    int
		want    []string
		called  bool
	}{
		{name: "not allowed from the status", target: "/api/v1/hazards/HZ-01/transition",
			body: `{"action": "submit", "by": "王副校长"}`, code: http.StatusConflict, called: true,
			want: []string{"隐患 HZ-01 状态为“待整改”，不能提交验收（可以：开始整改、备注）", "cannot submit hazard HZ-01: it is open (allowed: start, comment)"}},
		{name: "no action", target: "/api/v1/hazards/HZ-01/transition", body: `{"by": "王副校长"}`,
			code: http.StatusBadRequest, want: []string{`missing required field "action"`, "start, submit, verify, reject, comment"}},
		{name: "unknown action", target: "/api/v1/hazards/HZ-01/transition", body: `{"action": "close", "by": "王副校长"}`,
			code: http.StatusBadRequest, want: []string{`unknown action "close"`}},
		{name: "system action", target: "/api/v1/hazards/HZ-01/transition", body: `{"action": "supervise", "by": "王副校长"}`,
			code: http.StatusBadRequest, want: []string{`unknown action "supervise"`}},
		{name: "no by", target: "/api/v1/hazards/HZ-01/transition", body: `{"action": "start", "by": " "}`,
			code: http.StatusBadRequest, want: []string{`missing required field "by"`}},
		{name: "verify without comment", target: "/api/v1/hazards/HZ-03/transition", body: `{"action": "verify", "by": "李督学"}`,
			code: http.StatusBadRequest, want: []string{`missing required field "comment"`, "验收意见"}},
		{name: "reject without comment", target: "/api/v1/hazards/HZ-03/transition", body: `{"action": "reject", "by": "李督学", "comment": "  "}`,
			code: http.StatusBadRequest, want: []string{`missing required field "comment"`, "驳回理由"}},
		{name: "empty comment", target: "/api/v1/hazards/HZ-03/transition", body: `{"action": "comment", "by": "李督学"}`,
			code: http.StatusBadRequest, want: []string{"a comment needs a comment or evidence"}},
		{name: "unknown hazard", target: "/api/v1/hazards/HZ-99/transition", body: `{"action": "start", "by": "王副校长"}`,
			code: http.StatusNotFound, want: []string{`hazard "HZ-99" not found`}},
		{name: "out of scope", target: "/api/v1/hazards/HZ-01/transition", body: `{"action": "start", "by": "王副校长"}`,
			headers: []string{"X-Scope-School", "JX-NH-0002"}, code: http.StatusNotFound, want: []string{`hazard "HZ-01" not found`}},
		{name: "unknown field", target: "/api/v1/hazards/HZ-01/transition", body: `{"action": "start", "by": "王副校长", "status": "verified"}`,
			code: http.StatusBadRequest, want: []string{`unknown field "status"`, "action, by, comment and evidence"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := testHazards()
			s := newHazardServer(t, fake)
			requireJSONError(t, hazardRequest(t, s, http.MethodPost, tc.target, tc.body, tc.headers...), tc.code, tc.want...)
			require.Equal(t, tc.called, len(fake.changes) > 0)
		})
	}

	t.Run("invalid evidence", func(t *testing.T) {
		fake := testHazards()
		fake.writeErr = fmt.Errorf("%w: evidence[0]: a link must be an http or https URL, not \"照片\"", hazard.ErrInvalid)
		s := newHazardServer(t, fake)
		requireJSONError(t, hazardRequest(t, s, http.MethodPost, "/api/v1/hazards/HZ-01/transition",
			`{"action": "comment", "by": "王副校长", "evidence": [{"kind": "link", "value": "照片"}]}`),
			http.StatusBadRequest, "a link must be an http or https URL")
	})
}

func TestHazardRoutesMethods(t *testing.T) {
	s := newHazardServer(t, testHazards())
	requireJSONError(t, hazardRequest(t, s, http.MethodDelete, "/api/v1/hazards/HZ-01", ""),
		http.StatusMethodNotAllowed, "method DELETE is not allowed")
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-01/transition", ""),
		http.StatusMethodNotAllowed, "method GET is not allowed")
}

func TestHazardRoutesNeedRegistering(t *testing.T) {
	s := newTestServer(t, Options{})
	requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/api/v1/hazards"), http.StatusNotFound, "no such endpoint")
}

func TestParseDeadline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "2025-06-13T18:00:00+08:00", want: at("2025-06-13T10:00:00Z")},
		{in: "2025-06-13T10:00:00Z", want: at("2025-06-13T10:00:00Z")},
		{in: " 36h30m ", want: testNow.Add(36*time.Hour + 30*time.Minute)},
		{in: "7d", want: testNow.Add(7 * 24 * time.Hour)},
		{in: "0h", err: "must be positive"},
		{in: "2025-06-13", err: "neither an RFC 3339 time"},
		{in: "1w", err: "neither an RFC 3339 time"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDeadline(tc.in, testNow)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %s", got)
		})
	}
}

func TestHazardOfSchoolNoLongerInRegistry(t *testing.T) {
	fake := testHazards()
	fake.hazards[2].SchoolID = "JX-OLD-0001"
	s := newHazardServer(t, fake)
	rec := hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-03", "")
	require.Equal(t, http.StatusOK, rec.Code, "a caller who sees every school still sees it")
	body := decodeJSON[map[string]any](t, rec)
	require.Contains(t, body, "school_name")
	require.Empty(t, body["school_name"])
	requireJSONError(t, hazardRequest(t, s, http.MethodGet, "/api/v1/hazards/HZ-03", "", "X-Scope-District", "秀洲区"),
		http.StatusNotFound, `hazard "HZ-03" not found`)
	for _, tc := range []struct {
		query   string
		headers []string
		want    float64
	}{
		{query: "", want: 3},
		{query: "?school=JX-OLD-0001", want: 1},
		{query: "?district=秀洲区", want: 0},
		{query: "", headers: []string{"X-Scope-District", "秀洲区"}, want: 0},
	} {
		rec = hazardRequest(t, s, http.MethodGet, "/api/v1/hazards"+tc.query, "", tc.headers...)
		require.Equal(t, tc.want, decodeJSON[map[string]any](t, rec)["total"], "%s %v", tc.query, tc.headers)
	}
}
