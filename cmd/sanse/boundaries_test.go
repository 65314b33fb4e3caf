package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

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
	data, err := loadBoundaries(outlines, registry, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	require.Equal(t, square, string(data))
	require.Contains(t, log.String(), "schools outside their district's outline")
	require.Contains(t, log.String(), "schools=1")
	require.Contains(t, log.String(), "B: [121.5, 30.75] lies outside every outline")

	log.Reset()
	data, err = loadBoundaries("", registry, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	require.Nil(t, data, "nil: the server uses the embedded outlines")
	require.Contains(t, log.String(), "schools=1", "in the demo outlines A lies in 南湖区, B east of every county")
}
