package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sanse-campus/sanse/engine"
)

// Scope is the set of schools a caller may see: every school (All), or the
// union of the schools of some districts and some schools. The zero Scope
// allows nothing.
type Scope struct {
	// All allows every school (a province- or city-wide caller).
	All bool
	// Districts allows the schools of each district named, e.g. "南湖区".
	Districts []string
	// Schools allows each school named by its id, e.g. "JX-NH-0001".
	Schools []string
}

// ScopeAll allows every school.
var ScopeAll = Scope{All: true}

// Scope prefixes in the written form.
const (
	scopeAll      = "all"
	prefixDistric = "district:"
	prefixSchool  = "school:"
)

// ParseScope reads a scope written as "all", or as comma-separated grants
// "district:<name>" and "school:<id>", e.g. "district:南湖区,school:JX-XZ-0001".
// Every problem is reported at once.
func ParseScope(s string) (Scope, error) {
	var (
		sc   Scope
		errs []error
	)
	parts := strings.Split(s, ",")
	for _, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			continue
		case p == scopeAll:
			sc.All = true
		case strings.HasPrefix(p, prefixDistric):
			name := strings.TrimSpace(strings.TrimPrefix(p, prefixDistric))
			if name == "" {
				errs = append(errs, fmt.Errorf("scope %q: district: needs a district's name, e.g. district:南湖区", p))
				continue
			}
			if !slices.Contains(sc.Districts, name) {
				sc.Districts = append(sc.Districts, name)
			}
		case strings.HasPrefix(p, prefixSchool):
			id := strings.TrimSpace(strings.TrimPrefix(p, prefixSchool))
			if id == "" {
				errs = append(errs, fmt.Errorf("scope %q: school: needs a school id, e.g. school:JX-NH-0001", p))
				continue
			}
			if !slices.Contains(sc.Schools, id) {
				sc.Schools = append(sc.Schools, id)
			}
		default:
			errs = append(errs, fmt.Errorf("scope %q: expected all, district:<name> or school:<id>", p))
		}
	}
	if len(errs) > 0 {
		return Scope{}, errors.Join(errs...)
	}
	if sc.All && (len(sc.Districts) > 0 || len(sc.Schools) > 0) {
		return Scope{}, fmt.Errorf("scope %q: all already includes every district and school; give all alone", s)
	}
	if !sc.All && len(sc.Districts) == 0 && len(sc.Schools) == 0 {
		return Scope{}, errors.New("scope is empty: expected all, district:<name> or school:<id>")
	}
	return sc, nil
}

// String writes the scope as ParseScope reads it.
func (s Scope) String() string {
	if s.All {
		return scopeAll
	}
	parts := make([]string, 0, len(s.Districts)+len(s.Schools))
	for _, d := range s.Districts {
		parts = append(parts, prefixDistric+d)
	}
	for _, id := range s.Schools {
		parts = append(parts, prefixSchool+id)
	}
	return strings.Join(parts, ",")
}

// CanSee reports whether the scope allows school.
func (s Scope) CanSee(school *engine.School) bool {
	if school == nil {
		return false
	}
	return s.All || slices.Contains(s.Districts, school.District) || slices.Contains(s.Schools, school.ID)
}

// AboveSchool reports whether the scope allows school through a grant wider
// than the school itself: every school, or the school's district. Separation
// of duties (销号) asks for it: a school does not close out its own hazard.
func (s Scope) AboveSchool(school *engine.School) bool {
	if school == nil {
		return false
	}
	return s.All || slices.Contains(s.Districts, school.District)
}
