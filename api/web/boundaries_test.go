package web

import (
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/sim"
)

func TestDemoBoundaries(t *testing.T) {
	b, err := ParseBoundaries(DemoBoundaries())
	require.NoError(t, err)
	var names []string
	for _, o := range b.Outlines {
		require.Equal(t, LevelDistrict, o.Level)
		names = append(names, o.Name)
	}
	require.ElementsMatch(t, []string{"南湖区", "嘉善县", "秀洲区", "海盐县", "平湖市", "海宁市", "桐乡市"}, names)

	// Places everyone in 嘉兴 knows, and one outside.
	for _, tc := range []struct {
		name, district string
		lon, lat       float64
	}{
		{"南湖 (the lake)", "南湖区", 120.762, 30.752},
		{"乌镇", "桐乡市", 120.487, 30.742},
		{"海宁 盐官", "海宁市", 120.546, 30.407},
		{"西塘", "嘉善县", 120.889, 30.944},
		{"杭州 西湖", "", 120.148, 30.243},
	} {
		var in []string
		for _, o := range b.Outlines {
			if o.Contains(tc.lon, tc.lat) {
				in = append(in, o.Name)
			}
		}
		if tc.district == "" {
			require.Empty(t, in, tc.name)
		} else {
			require.Equal(t, []string{tc.district}, in, tc.name)
		}
	}
}

// Every school of the demo registry lies inside its own county's outline.
func TestDemoRegistryInsideOutlines(t *testing.T) {
	b, err := ParseBoundaries(DemoBoundaries())
	require.NoError(t, err)
	reg, err := registry.Load("../../testdata/registry/demo.csv")
	require.NoError(t, err)
	require.Equal(t, 400, reg.Len())
	var wrong []string
	for _, s := range reg.Schools() {
		if why := b.Misplaced(s.District, s.Longitude, s.Latitude); why != "" {
			wrong = append(wrong, s.ID+" "+s.Name+": "+why)
		}
	}
	require.Empty(t, wrong, "%d of %d demo schools outside their county:\n%s", len(wrong), reg.Len(), strings.Join(wrong, "\n"))
}

// The generator places schools inside their counties at any size, so that the
// map of a large generated district is right too.
func TestGeneratedRegistryInsideOutlines(t *testing.T) {
	b, err := ParseBoundaries(DemoBoundaries())
	require.NoError(t, err)
	schools := sim.GenerateRegistry(7, 5000)
	var wrong []string
	for _, s := range schools {
		if why := b.Misplaced(s.District, s.Longitude, s.Latitude); why != "" {
			wrong = append(wrong, s.ID+" "+s.Town+": "+why)
		}
	}
	// A school near a town on the county line may fall just across it.
	require.LessOrEqual(t, len(wrong), len(schools)/100, "%d of %d generated schools outside their county, e.g.:\n%s",
		len(wrong), len(schools), strings.Join(wrong[:min(20, len(wrong))], "\n"))
}

func TestParseBoundariesErrors(t *testing.T) {
	square := `[[[120,30],[121,30],[121,31],[120,31],[120,30]]]`
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"not JSON", `nope`, []string{"not GeoJSON"}},
		{"a feature, not a collection", `{"type":"Feature"}`, []string{`type is "Feature"`}},
		{"empty", `{"type":"FeatureCollection","features":[]}`, []string{"no features"}},
		{
			name: "every problem at once",
			data: `{"type":"FeatureCollection","features":[
				{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":` + square + `}},
				{"type":"Feature","properties":{"name":"某镇","level":"town"},"geometry":{"type":"Polygon","coordinates":` + square + `}},
				{"type":"Feature","properties":{"name":"某区","level":"city"},"geometry":{"type":"Polygon","coordinates":` + square + `}},
				{"type":"Feature","properties":{"name":"点"},"geometry":{"type":"Point","coordinates":[120,30]}},
				{"type":"Feature","properties":{"name":"反了"},"geometry":{"type":"Polygon","coordinates":[[[30,120],[31,120],[31,121],[30,120]]]}}
			]}`,
			want: []string{
				"feature 0: properties.name",
				"feature 1 (某镇): a town needs properties.district",
				`feature 2 (某区): properties.level is "city"`,
				`feature 3 (点): geometry type is "Point"`,
				"feature 4 (反了): point [30, 120] is not [longitude, latitude]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBoundaries([]byte(tt.data))
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestTownOutlines(t *testing.T) {
	b, err := ParseBoundaries([]byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"name":"甲区"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}},
		{"type":"Feature","properties":{"name":"乙镇","level":"town","district":"甲区"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[2,0],[2,2],[0,2],[0,0]]],[[[8,8],[10,8],[10,10],[8,10],[8,8]]]]}}
	]}`))
	require.NoError(t, err)
	district, town := b.Outlines[0], b.Outlines[1]
	require.Equal(t, "甲区", town.District)
	require.True(t, district.Contains(1, 1))
	require.False(t, district.Contains(5, 5), "in the hole")
	require.True(t, town.Contains(9, 9), "second polygon")
	require.False(t, town.Contains(5, 1))
	require.Empty(t, b.Misplaced("甲区", 3, 3))
	require.Contains(t, b.Misplaced("甲区", 5, 5), "outside every outline")
	require.Contains(t, b.Misplaced("丙区", 3, 3), `no district "丙区"`)
}

// The vendored files are those of the versions package.json pins: after a
// change of a pin, make web must run again.
func TestVendoredVersions(t *testing.T) {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	data, err := os.ReadFile("package.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &pkg))
	var vendored map[string]string
	data, err = fs.ReadFile(Static(), "vendor/VERSIONS.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &vendored))
	require.Equal(t, pkg.DevDependencies, vendored, "run make web after changing package.json")

	lock, err := os.ReadFile("package-lock.json")
	require.NoError(t, err)
	var l struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	require.NoError(t, json.Unmarshal(lock, &l))
	for name, v := range pkg.DevDependencies {
		require.Equal(t, v, l.Packages["node_modules/"+name].Version, "package-lock.json pins %s", name)
	}
	for _, name := range []string{"index.html", "app.js", "app.css", "vendor/echarts.min.js"} {
		_, err := fs.Stat(Static(), name)
		require.NoError(t, err, name)
	}
}
