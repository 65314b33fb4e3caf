package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestSchoolDetail(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0001")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{
		"school": {
			"school_id": "JX-NH-0001", "name": "南湖区实验小学", "district": "南湖区", "town": "城南街道",
			"stage": "primary", "longitude": 120.7612, "latitude": 30.7471, "boarding": true, "canteen": true
		},
		"level": "red",
		"level_zh": "红色",
		"since": "2025-06-09T07:42:00+08:00",
		"cause": "新增高风险：禁入名单人员到访",
		"cause_en": "New high risk: 禁入名单人员到访",
		"active_risks": [
			{
				"rule": "visitor.blacklist", "key": "", "source": "visitor", "level": "high", "level_zh": "高风险",
				"title": "禁入名单人员到访", "description": "3304**********123X 于东门被识别为禁入名单人员",
				"first_seen": "2025-06-09T07:42:00+08:00", "last_seen": "2025-06-09T07:42:00+08:00",
				"until": "2025-06-10T07:42:00+08:00", "count": 1, "evidence": ["ev-visitor-1"],
				"pending": false, "device": "", "overdue": false
			},
			{
				"rule": "canteen.no_hat", "key": "后厨", "source": "canteen", "level": "medium", "level_zh": "中风险",
				"title": "后厨人员未戴帽", "description": "",
				"first_seen": "2025-06-09T10:00:00+08:00", "last_seen": "2025-06-09T10:20:00+08:00",
				"until": "2025-06-10T10:20:00+08:00", "count": 2, "evidence": ["ev-canteen-1", "ev-canteen-2"],
				"pending": false, "device": "", "overdue": false
			}
		]
	}`, rec.Body.String())
}

// pendingSchools is testSchools with a rodent detection of a kitchen camera
// pending a check at JX-NH-0003 and the drowning risk of JX-NH-0002 overdue.
func pendingSchools() *fakeSchools {
	f := testSchools()
	v := f.views["JX-NH-0003"]
	v.Risks = []engine.Risk{{
		Rule: "canteen.rodent", Source: engine.SourceCanteen, Severity: engine.SeverityLow, Pending: true,
		Full: engine.SeverityHigh, Device: "cam-kitchen-1", Alarms: []string{"MK-1001"}, Manual: true,
		Title: "后厨发现鼠患", FirstSeen: at("2025-06-10T09:00:00+08:00"), LastSeen: at("2025-06-10T09:00:00+08:00"), Count: 1,
	}}
	f.views["JX-NH-0003"] = v
	v = f.views["JX-NH-0002"]
	v.Risks = append([]engine.Risk(nil), v.Risks...)
	v.Risks[0].Overdue, v.Risks[0].Device = true, "patrol-app"
	f.views["JX-NH-0002"] = v
	return f
}

func TestSchoolPendingRisk(t *testing.T) {
	s := newTestServer(t, Options{Schools: pendingSchools()})
	for _, tc := range []struct {
		name, id string
		want     map[string]any
	}{
		{name: "pending a check", id: "JX-NH-0003",
			want: map[string]any{"pending": true, "level": "low", "full_level": "high", "device": "cam-kitchen-1", "overdue": false}},
		{name: "overdue", id: "JX-NH-0002",
			want: map[string]any{"pending": false, "level": "medium", "device": "patrol-app", "overdue": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/"+tc.id)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			body := decodeJSON[struct {
				ActiveRisks []map[string]any `json:"active_risks"`
			}](t, rec)
			require.Len(t, body.ActiveRisks, 1)
			got := map[string]any{}
			for k := range tc.want {
				got[k] = body.ActiveRisks[0][k]
			}
			require.Equal(t, tc.want, got)
			if _, ok := tc.want["full_level"]; !ok {
				require.NotContains(t, body.ActiveRisks[0], "full_level", "only a pending risk has a full level")
			}
		})
	}
}

func TestSchoolDetailEmpty(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		wantLevel string
		wantSince any
		wantRisks []any
	}{
		{name: "never changed", id: "JX-NH-0003", wantLevel: "green", wantSince: nil, wantRisks: []any{}},
		{name: "back to green", id: "JX-JS-0001", wantLevel: "green", wantSince: "2025-06-07T08:00:00+08:00", wantRisks: []any{}},
	}
	s := newTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/"+tt.id)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			body := decodeJSON[map[string]any](t, rec)
			require.Equal(t, tt.wantLevel, body["level"])
			require.Equal(t, "绿色", body["level_zh"])
			require.Contains(t, body, "since")
			require.Equal(t, tt.wantSince, body["since"])
			require.Equal(t, tt.wantRisks, body["active_risks"], "an empty array, never null")
		})
	}
}

func TestSchoolRiskWithoutEvidence(t *testing.T) {
	s := newTestServer(t, Options{})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/schools/JX-NH-0002")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := decodeJSON[struct {
		ActiveRisks []map[string]any `json:"active_risks"`
	}](t, rec)
	require.Len(t, body.ActiveRisks, 1)
	require.Equal(t, []any{}, body.ActiveRisks[0]["evidence"], "an empty array, never null")
	require.Equal(t, "七星湖", body.ActiveRisks[0]["key"])
}

func TestNotFoundIsJSON(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		wantCode int
		wantMsg  string
	}{
		{name: "unknown school", method: http.MethodGet, target: "/api/v1/schools/JX-NONE", wantCode: http.StatusNotFound, wantMsg: `school "JX-NONE" not found`},
		{name: "unknown school, escaped id", method: http.MethodGet, target: "/api/v1/schools/%E5%AD%A6%E6%A0%A1", wantCode: http.StatusNotFound, wantMsg: `school "学校" not found`},
		{name: "unknown school, id with a percent sign", method: http.MethodGet, target: "/api/v1/schools/50%25", wantCode: http.StatusNotFound, wantMsg: `school "50%" not found`},
		{name: "unknown school, id with an escaped slash", method: http.MethodGet, target: "/api/v1/schools/a%2Fb", wantCode: http.StatusNotFound, wantMsg: `school "a/b" not found`},
		{name: "timeline of an unknown school", method: http.MethodGet, target: "/api/v1/schools/JX-NONE/timeline", wantCode: http.StatusNotFound, wantMsg: `school "JX-NONE" not found`},
		{name: "unknown endpoint", method: http.MethodGet, target: "/nope", wantCode: http.StatusNotFound, wantMsg: "/nope"},
		{name: "unknown endpoint under the API", method: http.MethodGet, target: "/api/v1/nope", wantCode: http.StatusNotFound, wantMsg: "/api/v1/nope"},
		{name: "too deep under a school", method: http.MethodGet, target: "/api/v1/schools/JX-NH-0001/nope", wantCode: http.StatusNotFound, wantMsg: "no such endpoint"},
		{name: "wrong method", method: http.MethodPost, target: "/api/v1/map", wantCode: http.StatusMethodNotAllowed, wantMsg: "POST"},
		{name: "wrong method on health", method: http.MethodDelete, target: "/healthz", wantCode: http.StatusMethodNotAllowed, wantMsg: "DELETE"},
	}
	s := newTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s.Handler(), tt.method, tt.target)
			requireJSONError(t, rec, tt.wantCode, tt.wantMsg)
			if tt.wantCode == http.StatusMethodNotAllowed {
				require.Contains(t, rec.Header().Get("Allow"), http.MethodGet)
			}
		})
	}
}
