package auth

import (
	"fmt"
	"strings"
)

// Role is what a caller may do within their scope. Roles are ordered: each
// may do what the ones below it may.
type Role string

// Roles, lowest first.
const (
	// RoleViewer reads: the map, schools, timelines, alerts, hazards, rules
	// and the live stream.
	RoleViewer Role = "viewer"
	// RoleOperator also acts: acknowledges and resolves alerts, resolves
	// risks, registers hazards and moves them through their workflow.
	RoleOperator Role = "operator"
	// RoleAdmin also runs the installation: rule reload and validation,
	// tokens and the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(strings.ToLower(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q: expected viewer, operator or admin", s)
	}
	return r, nil
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r may do what need may. An unknown role may do
// nothing.
func (r Role) AtLeast(need Role) bool {
	return r.rank() > 0 && r.rank() >= need.rank()
}
