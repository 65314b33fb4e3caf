package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

// The engine is what serves the map in production.
var _ Schools = (*engine.Engine)(nil)

// testNow is the server's clock in tests.
var testNow = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

// fakeSchools is a fixed map state.
type fakeSchools struct {
	views map[string]engine.SchoolView
	// panics makes Views panic, to test the recovery of handlers.
	panics bool
}

func (f *fakeSchools) View(id string) (engine.SchoolView, bool) {
	v, ok := f.views[id]
	return v, ok
}

func (f *fakeSchools) Views(keep func(*engine.School) bool) []engine.SchoolSummary {
	if f.panics {
		panic("views exploded")
	}
	ids := make([]string, 0, len(f.views))
	for id := range f.views {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []engine.SchoolSummary
	for _, id := range ids {
		v := f.views[id]
		if keep != nil && !keep(v.School) {
			continue
		}
		out = append(out, engine.SchoolSummary{School: v.School, Level: v.Level, Since: v.Since, ActiveRisks: len(v.Risks)})
	}
	return out
}

// fakeTimeline records its calls and answers with changes or err.
type fakeTimeline struct {
	mu      sync.Mutex
	calls   []timelineCall
	changes []engine.LevelChange
	err     error
}

type timelineCall struct {
	schoolID string
	from, to time.Time
}

func (f *fakeTimeline) timeline(_ context.Context, schoolID string, from, to time.Time) ([]engine.LevelChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, timelineCall{schoolID, from, to})
	return slices.Clone(f.changes), f.err
}

func (f *fakeTimeline) recorded() []timelineCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testSchools returns five schools in three districts: in 南湖区 one red (two
// risks), one yellow and one green that never changed; a red one in 秀洲区;
// and one in 嘉善县 that went back to green.
func testSchools() *fakeSchools {
	school := func(id, name, district, town string, stage engine.Stage, lon, lat float64) *engine.School {
		return &engine.School{ID: id, Name: name, District: district, Town: town, Stage: stage,
			Longitude: lon, Latitude: lat, Canteen: true}
	}
	nh1 := school("JX-NH-0001", "南湖区实验小学", "南湖区", "城南街道", engine.StagePrimary, 120.7612, 30.7471)
	nh1.Boarding = true
	return &fakeSchools{views: map[string]engine.SchoolView{
		"JX-NH-0001": {
			School: nh1, Level: engine.LevelRed, Since: at("2025-06-09T07:42:00+08:00"),
			Cause: engine.Cause{How: engine.RiskOpened, Rule: "visitor.blacklist", Title: "禁入名单人员到访", Severity: engine.SeverityHigh},
			Risks: []engine.Risk{
				{
					Rule: "visitor.blacklist", Key: "", Source: engine.SourceVisitor, Severity: engine.SeverityHigh,
					Title: "禁入名单人员到访", Description: "3304**********123X 于东门被识别为禁入名单人员",
					FirstSeen: at("2025-06-09T07:42:00+08:00"), LastSeen: at("2025-06-09T07:42:00+08:00"),
					Until: at("2025-06-10T07:42:00+08:00"), Count: 1, Evidence: []string{"ev-visitor-1"},
				},
				{
					Rule: "canteen.no_hat", Key: "后厨", Source: engine.SourceCanteen, Severity: engine.SeverityMedium,
					Title: "后厨人员未戴帽", FirstSeen: at("2025-06-09T10:00:00+08:00"),
					LastSeen: at("2025-06-09T10:20:00+08:00"), Until: at("2025-06-10T10:20:00+08:00"), Count: 2,
					Evidence: []string{"ev-canteen-1", "ev-canteen-2"},
				},
			},
		},
		"JX-NH-0002": {
			School: school("JX-NH-0002", "南湖区第二中学", "南湖区", "新丰镇", engine.StageJunior, 120.8301, 30.7012),
			Level:  engine.LevelYellow, Since: at("2025-06-08T16:05:00+08:00"), Cause: engine.Cause{Text: "新增中风险：防溺水巡查缺失"},
			Risks: []engine.Risk{{
				Rule: "drowning.patrol_missing", Key: "七星湖", Source: engine.SourceDrowning, Severity: engine.SeverityMedium,
				Title: "防溺水巡查缺失", FirstSeen: at("2025-06-08T16:05:00+08:00"), LastSeen: at("2025-06-08T16:05:00+08:00"),
				Until: at("2025-06-10T16:05:00+08:00"), Count: 1,
			}},
		},
		"JX-NH-0003": {
			School: school("JX-NH-0003", "南湖区城南幼儿园", "南湖区", "城南街道", engine.StageKindergarten, 120.7705, 30.7399),
			Level:  engine.LevelGreen,
		},
		"JX-XZ-0001": {
			School: school("JX-XZ-0001", "秀洲区高级中学", "秀洲区", "王店镇", engine.StageSenior, 120.6991, 30.7733),
			Level:  engine.LevelRed, Since: at("2025-06-09T21:30:00+08:00"), Cause: engine.Cause{Text: "新增高风险：校园欺凌举报"},
			Risks: []engine.Risk{{
				Rule: "bullying.repeated", Key: "S-1024", Source: engine.SourceBullying, Severity: engine.SeverityHigh,
				Title: "同一学生一周内多次被举报欺凌", FirstSeen: at("2025-06-05T12:00:00+08:00"),
				LastSeen: at("2025-06-09T21:30:00+08:00"), Until: at("2025-06-16T21:30:00+08:00"), Count: 3,
				Evidence: []string{"ev-b-1", "ev-b-2", "ev-b-3"},
			}},
		},
		"JX-JS-0001": {
			School: school("JX-JS-0001", "嘉善县职业中专", "嘉善县", "罗星街道", engine.StageVocational, 120.9260, 30.8411),
			Level:  engine.LevelGreen, Since: at("2025-06-07T08:00:00+08:00"), Cause: engine.Cause{Text: "风险已到期解除：晨检记录缺失"},
		},
	}}
}

// newTestServer returns a server over the test schools and timeline, with
// defaults for what opts leaves empty and the clock at testNow.
func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Schools == nil {
		opts.Schools = testSchools()
	}
	if opts.Timeline == nil {
		opts.Timeline = (&fakeTimeline{}).timeline
	}
	s, err := New(opts)
	require.NoError(t, err)
	s.now = func() time.Time { return testNow }
	return s
}

// serve sends a request with the given method and target to h.
func serve(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// decodeJSON decodes the body of rec into a T, failing the test if it is not
// JSON of that shape.
func decodeJSON[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body.String())
	return v
}

// requireJSONError checks that rec is an error response with the code, a
// JSON content type and an "error" message containing every one of want.
func requireJSONError(t *testing.T, rec *httptest.ResponseRecorder, code int, want ...string) {
	t.Helper()
	require.Equal(t, code, rec.Code, "body: %s", rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	body := decodeJSON[map[string]any](t, rec)
	require.Len(t, body, 1, "only the error member: %s", rec.Body.String())
	msg, ok := body["error"].(string)
	require.True(t, ok, "error is a string: %s", rec.Body.String())
	require.NotEmpty(t, msg)
	for _, w := range want {
		require.Contains(t, msg, w)
	}
}

// The engine tells the map's cache when its state changed.
var _ VersionedSchools = (*engine.Engine)(nil)

// versionedSchools is a map state that changes when a test says so, with a
// version as engine.Engine keeps it.
type versionedSchools struct {
	*fakeSchools
	mu      sync.Mutex
	version uint64
	views   int // calls of Views: the state read
}

func (v *versionedSchools) Version() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.version
}

func (v *versionedSchools) Views(keep func(*engine.School) bool) []engine.SchoolSummary {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.views++
	return v.fakeSchools.Views(keep)
}

func (v *versionedSchools) View(id string) (engine.SchoolView, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fakeSchools.View(id)
}

// set changes the colour of a school, as the engine would, with a new
// version.
func (v *versionedSchools) set(id string, level engine.Level, since time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	sv := v.fakeSchools.views[id]
	sv.Level, sv.Since = level, since
	v.fakeSchools.views[id] = sv
	v.version++
}

// touch moves the version without changing anything shown, as an event that
// changes no colour may.
func (v *versionedSchools) touch() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.version++
}

// reads returns how often the state was read.
func (v *versionedSchools) reads() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.views
}
