package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

const header = "id,name,district,town,stage,longitude,latitude,boarding,canteen,water_bodies\n"

func TestParseCSV(t *testing.T) {
	reg, err := ParseCSV("schools.csv", strings.NewReader("\ufeff"+header+
		"JX-NH-0002,南湖区第二小学,南湖区,新兴街道,primary,120.76,30.75,否,1,南湖;长水塘\n"+
		"JX-NH-0001,南湖区实验幼儿园,南湖区,建设街道,kindergarten,120.75,30.74,no,false,\n"))
	require.NoError(t, err)
	require.Equal(t, 2, reg.Len())
	require.Equal(t, "JX-NH-0001", reg.Schools()[0].ID, "ordered by id")
	require.Equal(t, &engine.School{
		ID: "JX-NH-0002", Name: "南湖区第二小学", District: "南湖区", Town: "新兴街道", Stage: engine.StagePrimary,
		Longitude: 120.76, Latitude: 30.75, Canteen: true, WaterBodies: []string{"南湖", "长水塘"},
	}, reg.School("JX-NH-0002"))
	require.False(t, reg.School("JX-NH-0001").Canteen)

	// connected: the optional sources (or source.type) the school reports.
	reg, err = ParseCSV("schools.csv", strings.NewReader(
		"id,name,district,town,stage,longitude,latitude,boarding,connected\n"+
			"A,甲,南湖区,街道,junior,120.7,30.7,no,school_bus; gate_security;canteen.accompany_meal\n"+
			"B,乙,南湖区,街道,junior,120.7,30.7,no,\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"school_bus", "gate_security", "canteen.accompany_meal"}, reg.School("A").Connected)
	require.Empty(t, reg.School("B").Connected)
}

func TestParseCSVReportsEveryProblemWithItsLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  string
		want []string
	}{
		{
			name: "missing columns",
			csv:  "id,name,district\nA,B,C\n",
			want: []string{`schools.csv:1: missing column "town"`, `schools.csv:1: missing column "boarding"`},
		},
		{
			name: "bad values on two lines",
			csv: header +
				"A,甲,南湖区,街道,college,120,30,no,,\n" +
				"B,乙,南湖区,街道,primary,200,30,perhaps,,\n",
			want: []string{
				`schools.csv:2: unknown stage "college"`,
				`schools.csv:3: longitude "200" is not a number between -180 and 180`,
				`schools.csv:3: boarding`,
			},
		},
		{
			name: "duplicate id",
			csv:  header + "A,甲,南湖区,街道,primary,120,30,no,,\nA,乙,南湖区,街道,primary,120,30,no,,\n",
			want: []string{`schools.csv:3: duplicate school id "A" (first on line 2)`},
		},
		{
			name: "empty required values",
			csv:  header + ",,,街道,primary,120,30,no,,\n",
			want: []string{`schools.csv:2: id is empty`, `schools.csv:2: name is empty`, `schools.csv:2: district is empty`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV("schools.csv", strings.NewReader(tc.csv))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseYAML(t *testing.T) {
	reg, err := ParseYAML("schools.yaml", strings.NewReader(`schools:
  - {id: A, name: 甲, district: 南湖区, town: 街道, stage: senior, longitude: "120.7", latitude: "30.7", boarding: "yes", water_bodies: [南湖], connected: [gate_security, canteen.accompany_meal]}
`))
	require.NoError(t, err)
	require.Equal(t, []string{"gate_security", "canteen.accompany_meal"}, reg.School("A").Connected)
	require.Equal(t, engine.StageSenior, reg.School("A").Stage)
	require.True(t, reg.School("A").Boarding)
	require.Equal(t, []string{"南湖"}, reg.School("A").WaterBodies)

	_, err = ParseYAML("schools.yaml", strings.NewReader(`schools:
  - {id: A, name: 甲, district: 南湖区, town: 街道, stage: senior, longitude: "1", latitude: "1", boarding: "no"}
  - {id: B, name: 乙, district: 南湖区, town: 街道, stage: middle, longitude: "1", latitude: "1", boarding: "no"}
`))
	require.ErrorContains(t, err, `schools.yaml:3: unknown stage "middle"`)
}

func TestLoad(t *testing.T) {
	reg, err := Load(filepath.Join("..", "..", "testdata", "registry", "demo.csv"))
	require.NoError(t, err)
	require.Equal(t, 400, reg.Len())

	dir := t.TempDir()
	txt := filepath.Join(dir, "schools.txt")
	require.NoError(t, os.WriteFile(txt, []byte(header), 0o600))
	_, err = Load(txt)
	require.ErrorContains(t, err, "unknown format, expected a .csv or .yaml file")
	_, err = Load(filepath.Join(dir, "missing.csv"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestParseCSVMalformedRecord is the regression test of a crash the fuzzer
// found (testdata/fuzz/FuzzParseCSV): a quoted field left open at the end of
// the file made ParseCSV ask the position of a record that has none.
func TestParseCSVMalformedRecord(t *testing.T) {
	_, err := ParseCSV("schools.csv", strings.NewReader(header+"\"JX-NH-0001,南湖区"))
	require.ErrorContains(t, err, "schools.csv:2: extraneous or missing \" in quoted-field")
}

// TestParseRejectsNaNCoordinates: strconv.ParseFloat accepts "NaN", which
// no range comparison rejects; a school at NaN would make every map answer
// fail to encode as JSON. Its input is in testdata/fuzz/FuzzParseCSV.
func TestParseRejectsNaNCoordinates(t *testing.T) {
	_, err := ParseCSV("schools.csv", strings.NewReader(header+"A,甲,南湖区,街道,senior,NaN,30.7,no,,\n"))
	require.ErrorContains(t, err, `schools.csv:2: longitude "NaN" is not a number between -180 and 180`)
	_, err = ParseYAML("schools.yaml", strings.NewReader(`schools:
  - {id: A, name: 甲, district: 南湖区, town: 街道, stage: senior, longitude: "120.7", latitude: "nan", boarding: "no"}
`))
	require.ErrorContains(t, err, `latitude "nan" is not a number between -90 and 90`)
}
