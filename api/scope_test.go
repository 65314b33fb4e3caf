package api

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestScopeAllows(t *testing.T) {
	nanhu := &engine.School{ID: "JX-NH-0001", District: "南湖区"}
	xiuzhou := &engine.School{ID: "JX-XZ-0001", District: "秀洲区"}
	tests := []struct {
		name   string
		scope  Scope
		school *engine.School
		want   bool
	}{
		{name: "all", scope: ScopeAll, school: xiuzhou, want: true},
		{name: "zero scope allows nothing", scope: Scope{}, school: nanhu, want: false},
		{name: "own district", scope: Scope{District: "南湖区"}, school: nanhu, want: true},
		{name: "other district", scope: Scope{District: "南湖区"}, school: xiuzhou, want: false},
		{name: "district narrows all", scope: Scope{All: true, District: "南湖区"}, school: xiuzhou, want: false},
		{name: "own school", scope: Scope{School: "JX-NH-0001"}, school: nanhu, want: true},
		{name: "other school", scope: Scope{School: "JX-NH-0001"}, school: xiuzhou, want: false},
		{name: "school in district", scope: Scope{District: "南湖区", School: "JX-NH-0001"}, school: nanhu, want: true},
		{name: "school outside district", scope: Scope{District: "秀洲区", School: "JX-NH-0001"}, school: nanhu, want: false},
		{name: "no school", scope: ScopeAll, school: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.scope.Allows(tt.school))
		})
	}
}

func TestScopeFrom(t *testing.T) {
	require.Equal(t, Scope{}, ScopeFrom(context.Background()), "no scope in the context allows nothing")
	ctx := WithScope(context.Background(), Scope{District: "南湖区"})
	require.Equal(t, Scope{District: "南湖区"}, ScopeFrom(ctx))
}

func TestScopeFiltersEveryHandler(t *testing.T) {
	tests := []struct {
		name        string
		scope       Scope
		wantMap     []string
		wantSummary map[string]int
		visible     []string
		hidden      []string
	}{
		{
			name:        "district",
			scope:       Scope{District: "南湖区"},
			wantMap:     []string{"JX-NH-0001", "JX-NH-0002", "JX-NH-0003"},
			wantSummary: map[string]int{"red": 1, "yellow": 1, "green": 1, "total": 3},
			visible:     []string{"JX-NH-0001", "JX-NH-0003"},
			hidden:      []string{"JX-XZ-0001", "JX-JS-0001"},
		},
		{
			name:        "one school",
			scope:       Scope{School: "JX-NH-0002"},
			wantMap:     []string{"JX-NH-0002"},
			wantSummary: map[string]int{"red": 0, "yellow": 1, "green": 0, "total": 1},
			visible:     []string{"JX-NH-0002"},
			hidden:      []string{"JX-NH-0001", "JX-XZ-0001"},
		},
		{
			name:        "nothing",
			scope:       Scope{},
			wantMap:     []string{},
			wantSummary: map[string]int{"red": 0, "yellow": 0, "green": 0, "total": 0},
			hidden:      []string{"JX-NH-0001"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTimeline{}
			s := newTestServer(t, Options{
				Timeline: fake.timeline,
				Scope:    func(*http.Request) (Scope, error) { return tt.scope, nil },
			})
			h := s.Handler()

			rec := serve(t, h, http.MethodGet, "/api/v1/map")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			g := decodeJSON[geoJSON](t, rec)
			require.Equal(t, tt.wantMap, g.ids())
			require.Equal(t, tt.wantSummary, g.Summary)

			// Asking for another district by name does not widen the scope.
			rec = serve(t, h, http.MethodGet, "/api/v1/map?district=%E7%A7%80%E6%B4%B2%E5%8C%BA") // 秀洲区
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Empty(t, decodeJSON[geoJSON](t, rec).Features)

			for _, id := range tt.visible {
				rec = serve(t, h, http.MethodGet, "/api/v1/schools/"+id)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				rec = serve(t, h, http.MethodGet, "/api/v1/schools/"+id+"/timeline")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			}
			for _, id := range tt.hidden {
				rec = serve(t, h, http.MethodGet, "/api/v1/schools/"+id)
				requireJSONError(t, rec, http.StatusNotFound, id)
				rec = serve(t, h, http.MethodGet, "/api/v1/schools/"+id+"/timeline")
				requireJSONError(t, rec, http.StatusNotFound, id)
			}
			require.Len(t, fake.recorded(), len(tt.visible), "the store is asked only about visible schools")
		})
	}
}

func TestScopeRefused(t *testing.T) {
	s := newTestServer(t, Options{
		Scope: func(*http.Request) (Scope, error) { return Scope{}, errors.New("token expired") },
	})
	for _, target := range []string{"/api/v1/map", "/api/v1/schools/JX-NH-0001", "/api/v1/schools/JX-NH-0001/timeline"} {
		t.Run(target, func(t *testing.T) {
			rec := serve(t, s.Handler(), http.MethodGet, target)
			requireJSONError(t, rec, http.StatusUnauthorized, "token expired")
		})
	}
	t.Run("/healthz", func(t *testing.T) {
		rec := serve(t, s.Handler(), http.MethodGet, "/healthz")
		require.Equal(t, http.StatusOK, rec.Code, "health needs no scope")
	})
}
