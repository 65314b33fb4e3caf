package event

// Fields returns the names by which rules read an event's fields
// (`event.watchlist`): the known fields of the event contract, in the order
// of docs/events.md, except that the visitor's identity number, never kept
// in clear, is read as visitor_hash and visitor_masked (see Event).
func Fields() []string {
	out := make([]string, 0, numFields+1)
	for f := range numFields {
		switch f {
		case fVisitorID:
			continue
		case fVisitorHash:
			out = append(out, f.name(), "visitor_masked")
			continue
		}
		out = append(out, f.name())
	}
	return out
}
