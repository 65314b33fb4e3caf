package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sanse-campus/sanse/engine"
)

// stageShares is the mix of stages in the demo district.
var stageShares = []struct {
	stage engine.Stage
	share float64
}{
	{engine.StageKindergarten, 0.40},
	{engine.StagePrimary, 0.30},
	{engine.StageJunior, 0.15},
	{engine.StageSenior, 0.08},
	{engine.StageVocational, 0.07},
}

// registryHeader is the header of the CSV that WriteRegistryCSV writes.
var registryHeader = []string{"id", "name", "district", "town", "stage", "longitude", "latitude", "boarding", "canteen", "water_bodies", "connected"}

// townSpread is how far, in degrees, a school may lie from its town's centre.
const townSpread = 0.012

// GenerateRegistry returns n invented but plausible schools of 嘉兴市: spread
// over its seven counties by population, with the district's mix of stages,
// each in a real town of its county, near that town's centre. The same seed
// and n give the same schools on every platform and Go version.
func GenerateRegistry(seed int64, n int) []engine.School {
	r := newRNG(seed)
	pops := make([]float64, len(counties))
	for i, c := range counties {
		pops[i] = c.population
	}
	perCounty := apportion(pops, n)
	shares := make([]float64, len(stageShares))
	for i, s := range stageShares {
		shares[i] = s.share
	}
	var out []engine.School
	names := map[string]bool{}
	for ci := range counties {
		c := &counties[ci]
		var stages []engine.Stage
		for i, k := range apportion(shares, perCounty[ci]) {
			for range k {
				stages = append(stages, stageShares[i].stage)
			}
		}
		// Shuffle so that ids do not follow the stage.
		for i := len(stages) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			stages[i], stages[j] = stages[j], stages[i]
		}
		for i, stage := range stages {
			t := pickTown(r, c, stage)
			s := engine.School{
				ID:        fmt.Sprintf("JX-%s-%04d", c.code, i+1),
				Name:      schoolName(r, c, t, stage, names),
				District:  c.name,
				Town:      t.name,
				Stage:     stage,
				Longitude: round(t.lon+r.uniform(-townSpread, townSpread), 6),
				Latitude:  round(t.lat+r.uniform(-townSpread, townSpread), 6),
			}
			s.Boarding, s.Canteen = facilities(r, stage, t)
			for _, w := range inventWaters(s.ID, s.Town, c) {
				s.WaterBodies = append(s.WaterBodies, w.name)
			}
			s.Connected = connected(&s, t)
			out = append(out, s)
		}
	}
	return out
}

// WriteRegistryCSV writes schools in the CSV form that registry.Load
// reads, with the header id,name,district,town,stage,longitude,latitude,
// boarding,canteen,water_bodies,connected.
func WriteRegistryCSV(w io.Writer, schools []engine.School) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(registryHeader); err != nil {
		return fmt.Errorf("write registry header: %w", err)
	}
	for _, s := range schools {
		rec := []string{
			s.ID, s.Name, s.District, s.Town, string(s.Stage),
			strconv.FormatFloat(s.Longitude, 'f', 6, 64),
			strconv.FormatFloat(s.Latitude, 'f', 6, 64),
			strconv.FormatBool(s.Boarding), strconv.FormatBool(s.Canteen),
			strings.Join(s.WaterBodies, ";"), strings.Join(s.Connected, ";"),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write school %s: %w", s.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	return nil
}

// apportion splits n into whole parts proportional to weights (largest
// remainder; ties go to the earlier weight).
func apportion(weights []float64, n int) []int {
	var total float64
	for _, w := range weights {
		total += w
	}
	out := make([]int, len(weights))
	rem := make([]float64, len(weights))
	left := n
	for i, w := range weights {
		exact := w / total * float64(n)
		out[i] = int(math.Floor(exact))
		rem[i] = exact - float64(out[i])
		left -= out[i]
	}
	idx := make([]int, len(weights))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rem[idx[a]] > rem[idx[b]] })
	for i := 0; i < left; i++ {
		out[idx[i%len(idx)]]++
	}
	return out
}

// connected decides, from the school id alone (so that the other fields
// of the demo registry stay as they were), which of the district's optional
// platforms report for a school: each for a share of schools, so that the
// absence checks of connected sources run at some schools and not others.
func connected(s *engine.School, t *town) []string {
	r := newRNG(int64(mix(hashString(s.ID), 2)))
	kg := s.Stage == engine.StageKindergarten
	bus := 0.1
	switch {
	case (s.Stage == engine.StagePrimary || s.Stage == engine.StageJunior) && !isStreet(t):
		bus = 0.5 // rural pupils come by school bus
	case s.Stage == engine.StagePrimary || s.Stage == engine.StageJunior:
		bus = 0.12
	}
	var out []string
	add := func(name string, p float64) {
		if r.chance(p) {
			out = append(out, name)
		}
	}
	add("canteen.accompany_meal", map[bool]float64{true: 0.7, false: 0}[s.Canteen])
	add("fire_safety", 0.5)
	add("gate_security", map[bool]float64{true: 0.45, false: 0.6}[kg])
	add("health", 0.55)
	add("mental_health", map[bool]float64{true: 0, false: 0.45}[kg])
	add("school_bus", bus)
	return out
}

// isStreet reports whether t is an urban 街道 rather than a 镇.
func isStreet(t *town) bool { return strings.HasSuffix(t.name, "街道") }

// pickTown chooses a school's town: urban streets are denser, and senior and
// vocational schools sit mostly in the county town.
func pickTown(r *rng, c *county, stage engine.Stage) *town {
	w := make([]float64, len(c.towns))
	for i := range c.towns {
		switch {
		case !isStreet(&c.towns[i]):
			w[i] = 1
		case stage == engine.StageSenior || stage == engine.StageVocational:
			w[i] = 4
		default:
			w[i] = 1.8
		}
	}
	return &c.towns[r.weighted(w)]
}

// facilities decides whether a school boards its pupils and runs a canteen.
func facilities(r *rng, stage engine.Stage, t *town) (boarding, canteen bool) {
	switch stage {
	case engine.StageSenior:
		boarding = r.chance(0.85)
	case engine.StageVocational:
		boarding = r.chance(0.8)
	case engine.StageJunior:
		if isStreet(t) {
			boarding = r.chance(0.1)
		} else {
			boarding = r.chance(0.4)
		}
	case engine.StagePrimary:
		boarding = r.chance(0.03)
	}
	switch stage {
	case engine.StageKindergarten:
		canteen = r.chance(0.8)
	case engine.StagePrimary:
		canteen = r.chance(0.95)
	default:
		canteen = true
	}
	return boarding, canteen || boarding
}

// shortTown is a town's name without its 街道 or 镇 suffix (乌镇镇 → 乌镇).
func shortTown(t *town) string {
	if s, ok := strings.CutSuffix(t.name, "街道"); ok {
		return s
	}
	if s, ok := strings.CutSuffix(t.name, "镇"); ok && len([]rune(s)) >= 2 {
		return s
	}
	return t.name
}

var chineseOrdinals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// estates are residential-estate suffixes, after which many kindergartens are named.
var estates = []string{"锦苑", "花园", "华庭", "家园", "新村", "绿苑", "嘉苑", "名城"}

// nameTemplates lists, per stage, patterns of school names: {P} is the
// county's prefix, {T} the town, {t} the town's short name, {p} a place of
// the county, {e} an estate suffix and {n} an ordinal from 二 to 五.
var nameTemplates = map[engine.Stage][]string{
	engine.StageKindergarten: {"{P}{T}中心幼儿园", "{P}{p}幼儿园", "{P}{p}{e}幼儿园", "{P}实验幼儿园", "{P}{p}实验幼儿园", "{P}{T}第{n}幼儿园", "{P}{t}{e}幼儿园"},
	engine.StagePrimary:      {"{P}{T}中心小学", "{P}{p}小学", "{P}实验小学", "{P}第{n}实验小学", "{P}{p}实验小学", "{P}{t}{p}小学", "{P}{t}第{n}小学"},
	engine.StageJunior:       {"{P}{t}中学", "{P}{p}初级中学", "{P}实验初级中学", "{P}{p}中学", "{P}第{n}初级中学", "{P}{t}初级中学"},
	engine.StageSenior:       {"{P}第一中学", "{P}高级中学", "{P}第{n}高级中学", "{P}{p}高级中学", "{P}{t}高级中学"},
	engine.StageVocational:   {"{P}职业高级中学", "{P}中等专业学校", "{P}卫生学校", "{P}技工学校", "{P}{p}职业技术学校", "{P}理工学校", "{P}商贸学校", "{P}{t}职业技术学校"},
}

// schoolName invents a name not yet in taken, and records it there.
func schoolName(r *rng, c *county, t *town, stage engine.Stage, taken map[string]bool) string {
	templates := nameTemplates[stage]
	var name string
	for range 60 {
		name = strings.NewReplacer(
			"{P}", c.prefix,
			"{T}", t.name,
			"{t}", shortTown(t),
			"{p}", pick(r, c.places),
			"{e}", pick(r, estates),
			"{n}", chineseOrdinals[r.between(1, 4)],
		).Replace(pick(r, templates))
		if !taken[name] {
			taken[name] = true
			return name
		}
	}
	// Every template is taken: a campus of an existing school.
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s（%s校区）", name, shortTown(t))
		if i > 1 {
			n = fmt.Sprintf("%s（%s%d校区）", name, shortTown(t), i)
		}
		if !taken[n] {
			taken[n] = true
			return n
		}
	}
}
