package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// fakeChecks records the ranges it is asked for and answers with counts.
type fakeChecks struct {
	mu     sync.Mutex
	ranges [][2]time.Time
	counts []CheckCount
	err    error
}

func (f *fakeChecks) checkCounts(_ context.Context, since, until time.Time) ([]CheckCount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, [2]time.Time{since, until})
	return f.counts, f.err
}

func (f *fakeChecks) recorded() [][2]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ranges
}

// testCheckCounts are rodent detections at two schools of 南湖区, one of
// 秀洲区 and one no longer in the registry, and a drowning fence alarm.
func testCheckCounts() []CheckCount {
	return []CheckCount{
		{Rule: "canteen.rodent", SchoolID: "JX-GONE-0001", Device: "cam-1", Pending: 5, Confirmed: 0, FalseAlarms: 5},
		{Rule: "canteen.rodent", SchoolID: "JX-NH-0001", Device: "cam-kitchen-1", Pending: 4, Confirmed: 1, FalseAlarms: 3},
		{Rule: "canteen.rodent", SchoolID: "JX-NH-0001", Device: "cam-kitchen-2", Pending: 1, Confirmed: 0, FalseAlarms: 0},
		{Rule: "canteen.rodent", SchoolID: "JX-NH-0002", Device: "cam-store", Pending: 2, Confirmed: 2, FalseAlarms: 0},
		{Rule: "canteen.rodent", SchoolID: "JX-XZ-0001", Device: "cam-a", Pending: 3, Confirmed: 0, FalseAlarms: 3},
		{Rule: "drowning.fence", SchoolID: "JX-XZ-0001", Device: "fence-3", Pending: 2, Confirmed: 1, FalseAlarms: 1},
	}
}

// checksAnswer is the body of GET /api/v1/checks as a client decodes it.
type checksAnswer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Rules  []checkLine
	Checks []checkLine
}

type checkLine struct {
	Rule           string  `json:"rule"`
	SchoolID       string  `json:"school_id"`
	SchoolName     string  `json:"school_name"`
	Device         string  `json:"device"`
	Pending        uint64  `json:"pending"`
	Confirmed      uint64  `json:"confirmed"`
	FalseAlarms    uint64  `json:"false_alarms"`
	FalseAlarmRate float64 `json:"false_alarm_rate"`
}

func TestChecksScope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scope   Scope
		schools []string
		rules   []checkLine
	}{
		{name: "a school", scope: Scope{School: "JX-NH-0001"}, schools: []string{"JX-NH-0001", "JX-NH-0001"},
			rules: []checkLine{{Rule: "canteen.rodent", Pending: 5, Confirmed: 1, FalseAlarms: 3, FalseAlarmRate: 0.75}}},
		{name: "a district", scope: Scope{District: "南湖区"}, schools: []string{"JX-NH-0001", "JX-NH-0001", "JX-NH-0002"},
			rules: []checkLine{{Rule: "canteen.rodent", Pending: 7, Confirmed: 3, FalseAlarms: 3, FalseAlarmRate: 0.5}}},
		{name: "a district and a school", scope: Scope{Any: []Scope{{District: "秀洲区"}, {School: "JX-NH-0002"}}},
			schools: []string{"JX-NH-0002", "JX-XZ-0001", "JX-XZ-0001"},
			rules: []checkLine{
				{Rule: "canteen.rodent", Pending: 5, Confirmed: 2, FalseAlarms: 3, FalseAlarmRate: 0.6},
				{Rule: "drowning.fence", Pending: 2, Confirmed: 1, FalseAlarms: 1, FalseAlarmRate: 0.5},
			}},
		{name: "the province, with a school the registry no longer has", scope: ScopeAll,
			schools: []string{"JX-GONE-0001", "JX-NH-0001", "JX-NH-0001", "JX-NH-0002", "JX-XZ-0001", "JX-XZ-0001"},
			rules: []checkLine{
				{Rule: "canteen.rodent", Pending: 15, Confirmed: 3, FalseAlarms: 11, FalseAlarmRate: 11.0 / 14},
				{Rule: "drowning.fence", Pending: 2, Confirmed: 1, FalseAlarms: 1, FalseAlarmRate: 0.5},
			}},
		{name: "nothing", scope: Scope{School: "JX-NH-0003"}, schools: nil, rules: []checkLine{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeChecks{counts: testCheckCounts()}
			s := newTestServer(t, Options{CheckCounts: fake.checkCounts,
				Scope: func(*http.Request) (Scope, error) { return tc.scope, nil }})
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/checks")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			body := decodeJSON[checksAnswer](t, rec)
			var schools []string
			for _, c := range body.Checks {
				schools = append(schools, c.SchoolID)
			}
			require.Equal(t, tc.schools, schools)
			require.Equal(t, tc.rules, body.Rules)
			require.NotNil(t, body.Checks, "an empty list, never null")
		})
	}
}

func TestChecksLines(t *testing.T) {
	s := newTestServer(t, Options{CheckCounts: (&fakeChecks{counts: testCheckCounts()}).checkCounts,
		Scope: func(*http.Request) (Scope, error) { return Scope{School: "JX-NH-0001"}, nil }})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/checks")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{
		"from": "2025-05-11T20:00:00+08:00", "to": "2025-06-10T20:00:00+08:00",
		"rules": [{"rule": "canteen.rodent", "pending": 5, "confirmed": 1, "false_alarms": 3, "false_alarm_rate": 0.75}],
		"checks": [
			{"rule": "canteen.rodent", "school_id": "JX-NH-0001", "school_name": "南湖区实验小学", "device": "cam-kitchen-1",
			 "pending": 4, "confirmed": 1, "false_alarms": 3, "false_alarm_rate": 0.75},
			{"rule": "canteen.rodent", "school_id": "JX-NH-0001", "school_name": "南湖区实验小学", "device": "cam-kitchen-2",
			 "pending": 1, "confirmed": 0, "false_alarms": 0, "false_alarm_rate": 0}
		]
	}`, rec.Body.String())
}

func TestChecksRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		query    url.Values
		from, to time.Time
	}{
		{name: "the last thirty days", from: testNow.Add(-30 * 24 * time.Hour), to: testNow},
		{name: "dates: whole days of Shanghai", query: url.Values{"from": {"2025-05-01"}, "to": {"2025-05-31"}},
			from: at("2025-05-01T00:00:00+08:00"), to: at("2025-06-01T00:00:00+08:00")},
		{name: "times", query: url.Values{"from": {"2025-06-01T08:00:00+08:00"}, "to": {"2025-06-02T08:00:00Z"}},
			from: at("2025-06-01T08:00:00+08:00"), to: at("2025-06-02T08:00:00Z")},
		{name: "thirty days before to", query: url.Values{"to": {"2025-06-01"}},
			from: at("2025-05-03T00:00:00+08:00"), to: at("2025-06-02T00:00:00+08:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeChecks{}
			s := newTestServer(t, Options{CheckCounts: fake.checkCounts})
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/checks?"+tc.query.Encode())
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := fake.recorded()
			require.Len(t, got, 1)
			require.True(t, tc.from.Equal(got[0][0]), "from %s, want %s", got[0][0], tc.from)
			require.True(t, tc.to.Equal(got[0][1]), "to %s, want %s", got[0][1], tc.to)
		})
	}
}

func TestChecksErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		err   error
		code  int
		want  []string
	}{
		{name: "not a time", query: "from=yesterday", code: http.StatusBadRequest,
			want: []string{"invalid parameter from", `"yesterday"`, "2026-11-01"}},
		{name: "from after to", query: "from=2025-06-05&to=2025-06-01", code: http.StatusBadRequest,
			want: []string{"is after to"}},
		{name: "too long", query: "from=2024-01-01&to=2025-06-01", code: http.StatusBadRequest,
			want: []string{"longer than 366 days"}},
		{name: "the store failed", err: errors.New("dial tcp 10.0.0.7:9000: connection refused"),
			code: http.StatusInternalServerError, want: []string{"could not read the check counts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeChecks{err: tc.err}
			s := newTestServer(t, Options{CheckCounts: fake.checkCounts})
			rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/checks?"+tc.query)
			requireJSONError(t, rec, tc.code, tc.want...)
			require.NotContains(t, rec.Body.String(), "10.0.0.7")
		})
	}
	t.Run("not served without a CheckCountsFunc", func(t *testing.T) {
		s := newTestServer(t, Options{})
		requireJSONError(t, serve(t, s.Handler(), http.MethodGet, "/api/v1/checks"), http.StatusNotFound)
	})
}

// The registry lookup of the checks prefers the SchoolFunc when there is
// one.
func TestChecksSchoolFunc(t *testing.T) {
	looked := map[string]bool{}
	schools := testSchools()
	s := newTestServer(t, Options{
		CheckCounts: (&fakeChecks{counts: testCheckCounts()}).checkCounts,
		School: func(id string) *engine.School {
			looked[id] = true
			v, ok := schools.views[id]
			if !ok {
				return nil
			}
			return v.School
		},
	})
	rec := serve(t, s.Handler(), http.MethodGet, "/api/v1/checks")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, looked["JX-NH-0002"])
}
