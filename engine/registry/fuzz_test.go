package registry

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sanse-campus/sanse/engine"
)

// checkRegistry is the oracle of the fuzz targets: a registry that parsed
// holds only schools the rest of Sanse can serve — an id, a known stage,
// finite coordinates in range (a NaN would make every map answer fail to
// encode) and no id twice.
func checkRegistry(t *testing.T, reg *engine.Registry, err error) {
	t.Helper()
	if err != nil {
		if reg != nil {
			t.Fatalf("a registry and an error: %v", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, s := range reg.Schools() {
		switch {
		case s.ID == "":
			t.Fatalf("a school without an id: %+v", s)
		case seen[s.ID]:
			t.Fatalf("school %q twice", s.ID)
		case !slices.Contains(engine.Stages, s.Stage):
			t.Fatalf("school %q has stage %q", s.ID, s.Stage)
		case math.IsNaN(s.Longitude) || math.IsNaN(s.Latitude) || math.Abs(s.Longitude) > 180 || math.Abs(s.Latitude) > 90:
			t.Fatalf("school %q has coordinates %v, %v", s.ID, s.Longitude, s.Latitude)
		}
		seen[s.ID] = true
		if reg.School(s.ID) != s {
			t.Fatalf("school %q is not found by its id", s.ID)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"small.csv", "demo.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "registry", name))
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4096 {
			data = data[:bytes.LastIndexByte(data[:4096], '\n')+1]
		}
		f.Add(data)
	}
	f.Add([]byte("\ufeff" + header + "JX-NH-0002,南湖区第二小学,南湖区,新兴街道,primary,120.76,30.75,否,1,南湖;长水塘\n"))
	f.Add([]byte(header + "A,甲,南湖区,街道,senior,200,30,no,,\n\"B,乙\",南湖区,,middle,x,1,maybe\n"))
	f.Add([]byte("id,name\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := ParseCSV("fuzz.csv", bytes.NewReader(data))
		checkRegistry(t, reg, err)
	})
}

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(`schools:
  - {id: A, name: 甲, district: 南湖区, town: 街道, stage: senior, longitude: "120.7", latitude: "30.7", boarding: "yes", water_bodies: [南湖]}
`))
	f.Add([]byte(`schools:
  - {id: A, name: 甲, district: 南湖区, town: 街道, stage: senior, longitude: "1", latitude: "1", boarding: "no"}
  - {id: A, name: 乙, district: 南湖区, town: 街道, stage: middle, longitude: "1e9", latitude: "-91", boarding: "no", extra: 1}
`))
	f.Add([]byte("schools: &a [*a]\n"))
	f.Add([]byte("schools:\n  - id: [1, 2]\n    name: {x: y}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, err := ParseYAML("fuzz.yaml", bytes.NewReader(data))
		checkRegistry(t, reg, err)
	})
}
