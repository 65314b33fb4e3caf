package sim

import (
	"encoding/json"

	"github.com/sanse-campus/sanse/engine/event"
)

// unknownSchool is the school id of malformed messages about a school that
// is not in the registry.
const unknownSchool = "JX-ZZ-9999"

// corrupt spoils a well-formed event in one of the ways producers do: cut
// short (not JSON), a required field missing, a school that is not in the
// registry, or a field of the wrong JSON type.
func (s *Simulator) corrupt(msg message, value []byte) (key string, out []byte) {
	key = msg.school.ID
	var m map[string]any
	if err := json.Unmarshal(value, &m); err != nil {
		return key, value[:len(value)/2]
	}
	required := []string{"id", "school_id", "type", "occurred_at"}
	if src := event.Builtin().Source(msg.source); src != nil && src.Type(msg.typ) != nil {
		for _, f := range src.Type(msg.typ).Required {
			required = append(required, f.Name)
		}
	}
	switch s.r.intn(4) {
	case 0:
		return key, value[:len(value)/2]
	case 1:
		delete(m, pick(s.r, required))
	case 2:
		key = unknownSchool
		m["school_id"] = unknownSchool
	case 3:
		f := pick(s.r, required)
		if _, isString := m[f].(string); isString {
			m[f] = 42
		} else {
			m[f] = "yes"
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return key, value[:len(value)/2]
	}
	return key, out
}
