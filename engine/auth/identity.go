package auth

import "github.com/sanse-campus/sanse/engine"

// Identity is an authenticated caller.
type Identity struct {
	// Name identifies the caller: a token's name (or an identity
	// provider's subject). It is what the audit log and every act record.
	Name string
	// Display is a person's name to show beside Name; empty for tokens.
	Display string
	// Role is what the caller may do.
	Role Role
	// Scope is which schools the caller may see and act on.
	Scope Scope
}

// Actor is how the caller is recorded as the author of an act: the name,
// followed by the display name in parentheses when there is one.
func (id Identity) Actor() string {
	if id.Display == "" || id.Display == id.Name {
		return id.Name
	}
	return id.Name + " (" + id.Display + ")"
}

// Can reports whether the caller's role is at least need.
func (id Identity) Can(need Role) bool { return id.Role.AtLeast(need) }

// CanSee reports whether the caller's scope allows school.
func (id Identity) CanSee(school *engine.School) bool { return id.Scope.CanSee(school) }
