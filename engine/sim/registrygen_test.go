package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/registry"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// demoSeed and demoSchools made testdata/registry/demo.csv.
const (
	demoSeed    = 2024
	demoSchools = 400
)

var demoPath = filepath.Join("..", "..", "testdata", "registry", "demo.csv")

func TestGenerateRegistryGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteRegistryCSV(&buf, GenerateRegistry(demoSeed, demoSchools)))
	if *update {
		require.NoError(t, os.WriteFile(demoPath, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(demoPath)
	require.NoError(t, err)
	require.Equal(t, string(want), buf.String(), "demo.csv differs from GenerateRegistry(%d, %d); run go test ./engine/sim -run Golden -update", demoSeed, demoSchools)
}

func TestDemoRegistry(t *testing.T) {
	reg, err := registry.Load(demoPath)
	require.NoError(t, err)
	require.Equal(t, demoSchools, reg.Len())

	idPattern := regexp.MustCompile(`^JX-(NH|XZ|JS|HY|PH|HN|TX)-\d{4}$`)
	byCounty := map[string]*county{}
	for i := range counties {
		byCounty[counties[i].name] = &counties[i]
	}
	stages := map[engine.Stage]int{}
	perCounty := map[string]int{}
	names := map[string]bool{}
	var boarding, canteen int
	for _, s := range reg.Schools() {
		require.Regexp(t, idPattern, s.ID)
		c := byCounty[s.District]
		require.NotNil(t, c, "school %s: unknown district %q", s.ID, s.District)
		require.Contains(t, s.ID, "-"+c.code+"-")
		require.Contains(t, s.Name, c.prefix, s.ID)
		require.False(t, names[s.Name], "duplicate name %s", s.Name)
		names[s.Name] = true
		var tw *town
		for i := range c.towns {
			if c.towns[i].name == s.Town {
				tw = &c.towns[i]
			}
		}
		require.NotNil(t, tw, "school %s: town %q is not in %s", s.ID, s.Town, s.District)
		require.InDelta(t, tw.lon, s.Longitude, townSpread+1e-6, s.ID)
		require.InDelta(t, tw.lat, s.Latitude, townSpread+1e-6, s.ID)
		stages[s.Stage]++
		perCounty[s.District]++
		if s.Boarding {
			boarding++
			require.True(t, s.Canteen, "boarding school %s without canteen", s.ID)
			require.NotEqual(t, engine.StageKindergarten, s.Stage, s.ID)
		}
		if s.Canteen {
			canteen++
		}
	}
	for _, want := range stageShares {
		share := float64(stages[want.stage]) / demoSchools
		require.InDelta(t, want.share, share, 0.01, "share of %s", want.stage)
	}
	require.Len(t, perCounty, len(counties))
	require.Greater(t, perCounty["海宁市"], perCounty["海盐县"])
	require.InDelta(t, 0.15, float64(boarding)/demoSchools, 0.07)
	require.Greater(t, float64(canteen)/demoSchools, 0.85)
}

func TestSmallRegistry(t *testing.T) {
	reg, err := registry.Load(filepath.Join("..", "..", "testdata", "registry", "small.csv"))
	require.NoError(t, err)
	require.Equal(t, 8, reg.Len())
	districts := map[string]bool{}
	for _, s := range reg.Schools() {
		districts[s.District] = true
	}
	require.Len(t, districts, 2)
}

func TestApportion(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		n       int
		want    []int
	}{
		{name: "exact", weights: []float64{1, 1}, n: 4, want: []int{2, 2}},
		{name: "remainder to the largest fraction", weights: []float64{0.4, 0.3, 0.3}, n: 5, want: []int{2, 2, 1}},
		{name: "zero", weights: []float64{1, 2}, n: 0, want: []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, apportion(tt.weights, tt.n))
		})
	}
}
