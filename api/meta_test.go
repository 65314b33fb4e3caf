package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/hazard"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestMeta compares GET /api/v1/meta with testdata/meta.json, which shows
// what the page receives; -update rewrites it after a deliberate change.
func TestMeta(t *testing.T) {
	rec := serve(t, newTestServer(t, Options{}).Handler(), http.MethodGet, "/api/v1/meta?pretty")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	golden := filepath.Join("testdata", "meta.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, rec.Body.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.JSONEq(t, string(want), rec.Body.String())
	require.Equal(t, string(bytes.TrimSpace(want)), string(bytes.TrimSpace(rec.Body.Bytes())), "the same order as the golden file")
}

// TestMetaListsEveryValue holds the meta to the lists the engine keeps, so
// that a new source, stage or status reaches the page with its names.
func TestMetaListsEveryValue(t *testing.T) {
	rec := serve(t, newTestServer(t, Options{}).Handler(), http.MethodGet, "/api/v1/meta")
	var got struct {
		Sources, Stages, Levels, Severities []metaName
		AlertStatuses                       []metaName         `json:"alert_statuses"`
		HazardCategories                    []metaName         `json:"hazard_categories"`
		HazardStatuses                      []metaHazardStatus `json:"hazard_statuses"`
		HazardActions                       []metaHazardAction `json:"hazard_actions"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))

	ids := func(names []metaName) []string {
		var out []string
		for _, n := range names {
			require.NotEmpty(t, n.Zh, "%s has a Chinese name", n.ID)
			out = append(out, n.ID)
		}
		return out
	}
	tests := []struct {
		name string
		got  []metaName
		want []string
		en   bool
	}{
		{name: "sources", got: got.Sources, want: idsOf(event.Builtin().Names()), en: true},
		{name: "stages", got: got.Stages, want: idsOf(engine.Stages), en: true},
		{name: "levels", got: got.Levels, want: idsOf(engine.Levels), en: true},
		{name: "severities", got: got.Severities, want: idsOf(engine.Severities), en: true},
		{name: "alert statuses", got: got.AlertStatuses, want: idsOf(alert.Statuses)},
		{name: "hazard categories", got: got.HazardCategories, want: hazard.Categories},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ids(tt.got))
			for _, n := range tt.got {
				if tt.en {
					require.NotEmpty(t, n.En, "%s has an English name", n.ID)
				}
			}
		})
	}
	var statuses, actions, person []string
	for _, s := range got.HazardStatuses {
		statuses = append(statuses, s.ID)
		require.Equal(t, s.ID == string(hazard.StatusVerified), s.Closed, s.ID)
	}
	for _, a := range got.HazardActions {
		actions = append(actions, a.ID)
		if a.Person {
			person = append(person, a.ID)
		}
	}
	require.Equal(t, idsOf(hazard.Statuses), statuses)
	require.Equal(t, idsOf(hazard.Actions), actions)
	require.Equal(t, idsOf(hazard.PersonActions), person)
}

// TestMetaListsDeclaredSources: a source declared in a file reaches the
// page, after the built-in ones, with the names its declaration gives.
func TestMetaListsDeclaredSources(t *testing.T) {
	contract, err := event.LoadContract("../testdata/sources")
	require.NoError(t, err)
	rec := serve(t, newTestServer(t, Options{Contract: contract}).Handler(), http.MethodGet, "/api/v1/meta")
	var got struct{ Sources []metaName }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Equal(t, []metaName{
		{ID: "visitor", Zh: "外来人员", En: "Visitors"}, {ID: "canteen", Zh: "食堂", En: "Canteen"},
		{ID: "drowning", Zh: "防溺水", En: "Drowning"}, {ID: "bullying", Zh: "校园欺凌", En: "Bullying"},
		{ID: "fire_safety", Zh: "消防燃气", En: "Fire and gas safety"}, {ID: "gate_security", Zh: "门卫安保", En: "Gate security"},
		{ID: "health", Zh: "卫生防疫", En: "School health"}, {ID: "mental_health", Zh: "心理危机", En: "Mental health crises"},
		{ID: "school_bus", Zh: "校车", En: "School buses"},
		{ID: "ferry", Zh: "渡船", En: "School ferries"},
	}, got.Sources, "the built-in sources first, then a district's own")
}

func idsOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
