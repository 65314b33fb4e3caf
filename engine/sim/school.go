package sim

import (
	"fmt"
	"strings"

	"github.com/sanse-campus/sanse/engine"
)

// school is a registry entry with what the simulator invents about it: its
// gates, canteen staff and cold-storage devices, nearby water bodies, pupils
// and teachers. These follow from the school id alone, so a school keeps
// them from one run to the next whatever the seed.
type school struct {
	*engine.School
	county    *county
	gates     []string
	staff     int
	devices   []device
	waters    []water
	students  int
	teachers  []string
	suppliers []string

	connected map[string]bool // the registry's Connected
	alarmIDs  bool            // the canteen's camera platform sends alarm ids and dispositions
	buses     int             // school buses, where connected

	inside    []person // visitors on the premises, who will leave
	nextStaff int      // whose 晨检 comes next
}

// shareAlarmIDs is the share of canteens whose 明厨亮灶 platform sends alarm
// ids (and so dispositions); the others send bare detections.
const shareAlarmIDs = 0.6

// has reports whether the school's registry entry lists c in Connected.
func (s *school) has(c string) bool { return s.connected[c] }

// schoolWaters returns the water bodies near a school: those its registry
// entry lists, else the ones GenerateRegistry would list for it.
func schoolWaters(sc *engine.School, c *county) []water {
	if len(sc.WaterBodies) == 0 {
		return inventWaters(sc.ID, sc.Town, c)
	}
	var out []water
	for _, name := range sc.WaterBodies {
		w := water{name: name, warning: 3.5}
		for _, cw := range c.waters {
			if cw.name == name {
				w = cw
			}
		}
		out = append(out, w)
	}
	return out
}

// inventWaters chooses, from the school id alone, the water bodies near a
// school: about three schools in ten have one to three of the county's,
// some also their town's river.
func inventWaters(id, townName string, c *county) []water {
	r := newRNG(int64(mix(hashString(id), 1)))
	if !r.chance(0.3) {
		return nil
	}
	var out []water
	n := r.between(1, 3)
	for _, i := range r.perm(len(c.waters))[:min(n, len(c.waters))] {
		out = append(out, c.waters[i])
	}
	if r.chance(0.3) && townName != "" {
		out = append(out, water{name: strings.TrimSuffix(strings.TrimSuffix(townName, "街道"), "镇") + "市河", warning: 3.5})
	}
	return out
}

// device is a fridge or freezer with a temperature sensor.
type device struct {
	id   string
	zone string // fridge or freezer
}

var gateNames = []string{"南门", "北门", "东门", "西门"}

// suppliers of school canteens (invented).
var supplierNames = []string{
	"嘉兴市禾丰农产品配送有限公司", "嘉兴市鸳湖粮油贸易有限公司", "海宁市潮乡食品有限公司",
	"桐乡市梧丰蔬菜专业合作社", "平湖市当湖肉类食品有限公司", "嘉善县善农农产品有限公司",
	"海盐县盐邑水产有限公司", "嘉兴市秀禾乳业有限公司", "浙江禾润冷链物流有限公司",
	"嘉兴市新禾豆制品厂", "嘉兴市南湖禽蛋专业合作社", "桐乡市语溪粮油有限公司",
	"海宁市硖川调味品经营部", "平湖市东湖果蔬配送中心",
}

// studentsByStage bounds the number of pupils of a school.
var studentsByStage = map[engine.Stage][2]int{
	engine.StageKindergarten: {150, 380},
	engine.StagePrimary:      {600, 1900},
	engine.StageJunior:       {500, 1500},
	engine.StageSenior:       {1200, 2600},
	engine.StageVocational:   {900, 2400},
}

// countyOf returns the county a registry entry belongs to, by district
// name or, failing that, by the code in its id; else the first county.
func countyOf(sc *engine.School) *county {
	for i := range counties {
		if counties[i].name == sc.District {
			return &counties[i]
		}
	}
	for i := range counties {
		if strings.Contains(sc.ID, "-"+counties[i].code+"-") {
			return &counties[i]
		}
	}
	return &counties[0]
}

func newSchool(sc *engine.School) *school {
	r := newRNG(int64(hashString(sc.ID)))
	s := &school{School: sc, county: countyOf(sc)}
	big := sc.Stage == engine.StageSenior || sc.Stage == engine.StageVocational
	nGates := 2
	switch {
	case sc.Stage == engine.StageKindergarten:
		nGates = r.between(1, 2)
	case big:
		nGates = r.between(2, 4)
	}
	s.gates = gateNames[:nGates]

	bounds := studentsByStage[sc.Stage]
	s.students = r.between(bounds[0], bounds[1])
	for range 16 {
		s.teachers = append(s.teachers, personName(r, r.chance(0.35)))
	}

	if sc.Canteen {
		s.staff = 3 + s.students/120
		if sc.Boarding {
			s.staff += s.staff / 3
		}
		fridges, freezers := r.between(1, 3), r.between(1, 2)
		if big || sc.Boarding {
			fridges, freezers = fridges+1, freezers+1
		}
		for i := range fridges {
			s.devices = append(s.devices, device{id: fmt.Sprintf("fridge-%d", i+1), zone: "fridge"})
		}
		for i := range freezers {
			s.devices = append(s.devices, device{id: fmt.Sprintf("freezer-%d", i+1), zone: "freezer"})
		}
		for _, i := range r.perm(len(supplierNames))[:r.between(3, 5)] {
			s.suppliers = append(s.suppliers, supplierNames[i])
		}
	}

	s.waters = schoolWaters(sc, s.county)
	s.connected = map[string]bool{}
	for _, c := range sc.Connected {
		s.connected[c] = true
	}
	s.alarmIDs = unit(mix(hashString(sc.ID), 7)) < shareAlarmIDs
	s.buses = 1 + s.students/500
	return s
}

// perm returns a random permutation of 0..n-1.
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		j := r.intn(i + 1)
		p[i] = p[j]
		p[j] = i
	}
	return p
}

// student returns the pseudonymous ref of pupil n (S-<school>-<n>).
func (s *school) student(n int) string {
	return fmt.Sprintf("S-%s-%04d", s.ID, n%s.students+1)
}
