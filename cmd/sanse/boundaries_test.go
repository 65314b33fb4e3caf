package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/api/web"
	"github.com/sanse-campus/sanse/engine/registry"
)

const square = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"南湖区"},` +
	`"geometry":{"type":"Polygon","coordinates":[[[120.7,30.7],[120.8,30.7],[120.8,30.8],[120.7,30.8],[120.7,30.7]]]}}]}`

func TestMapBoundariesFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "outlines.geojson")
	require.NoError(t, os.WriteFile(good, []byte(square), 0o644))
	bad := filepath.Join(dir, "bad.geojson")
	require.NoError(t, os.WriteFile(bad, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{}}]}`), 0o644))

	cfg, err := loadWith(t, "registry:\n  file: x.csv\nmap:\n  boundaries_file: "+good+"\n")
	require.NoError(t, err)
	require.Equal(t, good, cfg.Map.BoundariesFile)

	_, err = loadWith(t, "registry:\n  file: x.csv\n", "--map.boundaries-file", bad)
	require.ErrorContains(t, err, "map.boundaries_file "+bad+": feature 0: properties.name")
	_, err = loadWith(t, "registry:\n  file: x.csv\n", "--map.boundaries-file", filepath.Join(dir, "none.geojson"))
	require.ErrorContains(t, err, "map.boundaries_file: open")
}

func TestLoadBoundariesWarnsAboutMisplacedSchools(t *testing.T) {
	dir := t.TempDir()
	outlines := filepath.Join(dir, "outlines.geojson")
	require.NoError(t, os.WriteFile(outlines, []byte(square), 0o644))
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte("id,name,district,town,stage,longitude,latitude,boarding\n"+
		"A,甲小学,南湖区,城南街道,primary,120.75,30.75,false\n"+
		"B,乙小学,南湖区,城南街道,primary,121.5,30.75,false\n"), 0o644))
	registry, err := registry.Load(reg)
	require.NoError(t, err)

	var log bytes.Buffer
	data, checkPlaces, err := loadBoundaries(outlines, registry, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	require.Equal(t, square, string(data))
	require.NotContains(t, log.String(), "schools outside", "the places are checked by checkPlaces")
	checkPlaces()
	require.Contains(t, log.String(), "schools outside their district's outline")
	require.Contains(t, log.String(), "schools=1")
	require.Contains(t, log.String(), "B: [121.5, 30.75] lies outside every outline")

	log.Reset()
	data, checkPlaces, err = loadBoundaries("", registry, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	checkPlaces()
	require.Equal(t, web.DemoBoundaries(), data, "南湖区: the embedded outlines of 嘉兴市")
	require.Contains(t, log.String(), "schools=1", "in the embedded outlines A lies in 南湖区, B east of every county")
	require.Contains(t, log.String(), "B: [121.5, 30.75] lies outside every outline")
}

// outlineNames returns the names of the outlines of the GeoJSON.
func outlineNames(t *testing.T, data []byte) []string {
	t.Helper()
	b, err := web.ParseBoundaries(data)
	require.NoError(t, err)
	var names []string
	for _, o := range b.Outlines {
		names = append(names, o.Name)
	}
	return names
}

func TestLoadBoundariesChoosesCities(t *testing.T) {
	counties := map[string][]string{}
	for _, c := range web.Cities() {
		counties[c.Name] = c.Counties
	}
	const header = "id,name,district,town,stage,longitude,latitude,boarding\n"
	tests := []struct {
		name     string
		registry string
		cities   []string
		warn     []string // in the log; none when empty
	}{
		{
			name:     "临平区 and 龙泉市",
			registry: "../../testdata/registry/linping-longquan.csv",
			cities:   []string{"杭州市", "丽水市"},
		},
		{
			name: "with their city",
			registry: header + "A,甲小学,杭州市临平区,临平街道,primary,120.2995,30.4182,false\n" +
				"B,乙小学,丽水市龙泉市,龙渊街道,primary,119.14,28.07,false\n",
			cities: []string{"杭州市", "丽水市"},
		},
		{
			name:     "南湖区",
			registry: header + "A,甲小学,南湖区,城南街道,primary,120.75,30.75,false\n",
			cities:   []string{"嘉兴市"},
		},
		{
			name: "an unknown district",
			registry: header + "A,甲小学,南湖区,城南街道,primary,120.75,30.75,false\n" +
				"B,乙小学,南湖新区,城南街道,primary,120.76,30.75,false\n",
			cities: []string{"嘉兴市"},
			warn: []string{"level=WARN", "districts of the registry that no embedded county outline of 浙江省 holds",
				"districts=南湖新区", "schools=1", "set map.boundaries_file"},
		},
		{
			name:     "no district known",
			registry: header + "A,甲小学,玄武区,新街口街道,primary,118.78,32.04,false\n",
			cities:   []string{"杭州市", "宁波市", "温州市", "嘉兴市", "湖州市", "绍兴市", "金华市", "衢州市", "舟山市", "台州市", "丽水市"},
			warn:     []string{"level=WARN", "the map draws all 11 cities", "districts=玄武区", "set map.boundaries_file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.registry
			if strings.HasPrefix(path, header) {
				path = filepath.Join(t.TempDir(), "registry.csv")
				require.NoError(t, os.WriteFile(path, []byte(tt.registry), 0o644))
			}
			reg, err := registry.Load(path)
			require.NoError(t, err)
			var log bytes.Buffer
			data, checkPlaces, err := loadBoundaries("", reg, slog.New(slog.NewTextHandler(&log, nil)))
			require.NoError(t, err)
			checkPlaces()
			var want []string
			for _, c := range tt.cities {
				want = append(want, counties[c]...)
			}
			require.ElementsMatch(t, want, outlineNames(t, data))
			if len(tt.warn) == 0 {
				require.NotContains(t, log.String(), "level=WARN")
			}
			for _, w := range tt.warn {
				require.Contains(t, log.String(), w)
			}
			require.NotContains(t, log.String(), "outside their district's outline")
		})
	}
}
