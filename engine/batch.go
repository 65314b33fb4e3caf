package engine

// Batch is what one flush stores: the events read and what they caused.
// The store writes Output before Events, so that an event found in storage
// implies that its effects are there too.
type Batch struct {
	Events []Event
	Output
}

// Reset empties b, keeping its capacity.
func (b *Batch) Reset() {
	clear(b.Events) // drop payload references
	b.Events = b.Events[:0]
	b.Output.Reset()
}

// Len returns the number of records in b.
func (b *Batch) Len() int { return len(b.Events) + b.Output.Len() }
