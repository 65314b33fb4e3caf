package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Outline levels, the values of a feature's properties.level.
const (
	// LevelDistrict is a district or county (区县), the default.
	LevelDistrict = "district"
	// LevelTown is a town or subdistrict (乡镇街道) within a district.
	LevelTown = "town"
)

// Boundaries are the outlines the map draws, read from a GeoJSON
// FeatureCollection of Polygon and MultiPolygon features. Each feature has
// properties.name; properties.level is "district" (the default) or "town",
// and a town names its district in properties.district. Other members are
// kept in the file and ignored here.
type Boundaries struct {
	Outlines []Outline
}

// Outline is one district's or town's area.
type Outline struct {
	Name     string
	Level    string
	District string // the district of a town; Name for a district
	// Polygons are the outline's polygons, each a list of rings (the first
	// the outer one, the rest holes), each ring a list of [longitude,
	// latitude] points.
	Polygons [][][][2]float64
	bbox     [4]float64 // min lon, min lat, max lon, max lat
}

type featureJSON struct {
	Type       string `json:"type"`
	Properties struct {
		Name     any `json:"name"`
		Level    any `json:"level"`
		District any `json:"district"`
	} `json:"properties"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// ParseBoundaries reads and checks a GeoJSON FeatureCollection of outlines,
// reporting every problem at once.
func ParseBoundaries(data []byte) (*Boundaries, error) {
	var fc struct {
		Type     string        `json:"type"`
		Features []featureJSON `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("not GeoJSON: %w", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("type is %q, want a FeatureCollection of district and town outlines", fc.Type)
	}
	if len(fc.Features) == 0 {
		return nil, errors.New("no features: a FeatureCollection of district and town outlines is needed")
	}
	b := &Boundaries{}
	var errs []error
	for i, f := range fc.Features {
		o, err := parseOutline(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("feature %d%s: %w", i, nameSuffix(f.Properties.Name), err))
			continue
		}
		b.Outlines = append(b.Outlines, o)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

func nameSuffix(name any) string {
	if s, ok := name.(string); ok && s != "" {
		return fmt.Sprintf(" (%s)", s)
	}
	return ""
}

func parseOutline(f featureJSON) (Outline, error) {
	var o Outline
	if f.Type != "Feature" {
		return o, fmt.Errorf("type is %q, want Feature", f.Type)
	}
	name, ok := f.Properties.Name.(string)
	if !ok || name == "" {
		return o, errors.New("properties.name must be a non-empty string")
	}
	o.Name, o.Level, o.District = name, LevelDistrict, name
	switch lv := f.Properties.Level.(type) {
	case nil:
	case string:
		if lv != LevelDistrict && lv != LevelTown {
			return o, fmt.Errorf("properties.level is %q, want %q or %q", lv, LevelDistrict, LevelTown)
		}
		o.Level = lv
	default:
		return o, errors.New("properties.level must be a string")
	}
	if o.Level == LevelTown {
		d, ok := f.Properties.District.(string)
		if !ok || d == "" {
			return o, errors.New("a town needs properties.district, the district it belongs to")
		}
		o.District = d
	}
	if f.Geometry == nil {
		return o, errors.New("no geometry")
	}
	switch f.Geometry.Type {
	case "Polygon":
		var p [][][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
			return o, fmt.Errorf("polygon coordinates: %w", err)
		}
		o.Polygons = [][][][2]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(f.Geometry.Coordinates, &o.Polygons); err != nil {
			return o, fmt.Errorf("multipolygon coordinates: %w", err)
		}
	default:
		return o, fmt.Errorf("geometry type is %q, want Polygon or MultiPolygon", f.Geometry.Type)
	}
	o.bbox = [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range o.Polygons {
		if len(p) == 0 {
			return o, errors.New("a polygon without rings")
		}
		for _, ring := range p {
			if len(ring) < 4 {
				return o, fmt.Errorf("a ring of %d points; a closed ring has at least 4", len(ring))
			}
			for _, pt := range ring {
				if pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
					return o, fmt.Errorf("point [%g, %g] is not [longitude, latitude]", pt[0], pt[1])
				}
				o.bbox[0], o.bbox[1] = min(o.bbox[0], pt[0]), min(o.bbox[1], pt[1])
				o.bbox[2], o.bbox[3] = max(o.bbox[2], pt[0]), max(o.bbox[3], pt[1])
			}
		}
	}
	return o, nil
}

// Contains reports whether the point lies inside the outline (on its
// polygons and not in their holes).
func (o *Outline) Contains(lon, lat float64) bool {
	if lon < o.bbox[0] || lon > o.bbox[2] || lat < o.bbox[1] || lat > o.bbox[3] {
		return false
	}
	for _, p := range o.Polygons {
		in := false
		for _, ring := range p {
			if inRing(ring, lon, lat) {
				in = !in
			}
		}
		if in {
			return true
		}
	}
	return false
}

// inRing is the even-odd test of a point against one closed ring.
func inRing(ring [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// District returns the outline of the named district, or nil.
func (b *Boundaries) District(name string) *Outline {
	for i := range b.Outlines {
		if o := &b.Outlines[i]; o.Level == LevelDistrict && o.Name == name {
			return o
		}
	}
	return nil
}

// Misplaced reports why a school at the point, registered in the district,
// does not lie inside that district's outline, or "" when it does. A district
// the outlines do not have is a reason too.
func (b *Boundaries) Misplaced(district string, lon, lat float64) string {
	return b.MisplacedIn(district, []string{district}, lon, lat)
}

// MisplacedIn is Misplaced for a district that the outlines hold under other
// names (see Choice.Outlines): the school is in place inside any of them.
func (b *Boundaries) MisplacedIn(district string, outlines []string, lon, lat float64) string {
	known := false
	for _, name := range outlines {
		if o := b.District(name); o != nil {
			known = true
			if o.Contains(lon, lat) {
				return ""
			}
		}
	}
	if !known {
		return fmt.Sprintf("the outlines have no district %q", district)
	}
	want := district
	if len(outlines) != 1 || outlines[0] != district {
		want = fmt.Sprintf("%s (%s in the outlines)", district, strings.Join(outlines, ", "))
	}
	for i := range b.Outlines {
		if other := &b.Outlines[i]; other.Level == LevelDistrict && other.Contains(lon, lat) {
			return fmt.Sprintf("[%g, %g] lies in %s, not in %s", lon, lat, other.Name, want)
		}
	}
	return fmt.Sprintf("[%g, %g] lies outside every outline", lon, lat)
}
