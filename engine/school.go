package engine

import (
	"fmt"
	"sort"
)

// Stage is a school's education stage.
type Stage string

// Education stages.
const (
	StageKindergarten Stage = "kindergarten"
	StagePrimary      Stage = "primary"
	StageJunior       Stage = "junior"
	StageSenior       Stage = "senior"
	StageVocational   Stage = "vocational"
)

// Stages lists every stage, from the youngest pupils to the oldest.
var Stages = []Stage{StageKindergarten, StagePrimary, StageJunior, StageSenior, StageVocational}

// School is one entry of the school registry. Rules see it as `school`.
type School struct {
	ID        string  `expr:"id" yaml:"id" json:"school_id"`
	Name      string  `expr:"name" yaml:"name" json:"name"`
	District  string  `expr:"district" yaml:"district" json:"district"`
	Town      string  `expr:"town" yaml:"town" json:"town"`
	Stage     Stage   `expr:"stage" yaml:"stage" json:"stage"`
	Longitude float64 `expr:"longitude" yaml:"longitude" json:"longitude"`
	Latitude  float64 `expr:"latitude" yaml:"latitude" json:"latitude"`
	Boarding  bool    `expr:"boarding" yaml:"boarding" json:"boarding"`
	// Canteen reports whether the school runs its own canteen; absence
	// checks on canteen records apply only to schools that do.
	Canteen bool `expr:"canteen" yaml:"canteen" json:"canteen"`
	// WaterBodies are the registered water bodies near the school (水域) that
	// drowning-prevention patrols must cover.
	WaterBodies []string `expr:"water_bodies" yaml:"water_bodies" json:"water_bodies,omitempty"`
	// Connected lists what the district's platforms report for the school
	// beyond what every school with a canteen or water bodies reports: a
	// declared source (school_bus, fire_safety, gate_security, …) or a
	// source's type (canteen.accompany_meal). Absence checks of these run
	// only at the schools that list them, so a school not yet connected
	// stays green instead of being reported for what it cannot send.
	Connected []string `expr:"connected" yaml:"connected" json:"connected,omitempty"`
}

// Registry is an immutable set of schools, replaced as a whole on reload.
type Registry struct {
	byID  map[string]*School
	order []*School
}

// NewRegistry builds a registry from schools; duplicate ids are an error.
func NewRegistry(schools []School) (*Registry, error) {
	r := &Registry{byID: make(map[string]*School, len(schools))}
	for i := range schools {
		s := schools[i]
		if _, dup := r.byID[s.ID]; dup {
			return nil, fmt.Errorf("duplicate school id %q", s.ID)
		}
		r.byID[s.ID] = &s
		r.order = append(r.order, &s)
	}
	sort.Slice(r.order, func(i, j int) bool { return r.order[i].ID < r.order[j].ID })
	return r, nil
}

// School returns the school with the given id, or nil.
func (r *Registry) School(id string) *School {
	if r == nil {
		return nil
	}
	return r.byID[id]
}

// Schools returns every school ordered by id. The slice must not be modified.
func (r *Registry) Schools() []*School { return r.order }

// Len returns the number of schools.
func (r *Registry) Len() int { return len(r.order) }
