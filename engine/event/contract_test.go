package event_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// TestContractCoversSources holds the contract to engine.Sources, the one
// list of sources: every source has its types, and no other source has any.
func TestContractCoversSources(t *testing.T) {
	var got []engine.Source
	for src, types := range event.Contract {
		require.NotEmpty(t, types, "source %s has no types", src)
		got = append(got, src)
	}
	slices.Sort(got)
	want := slices.Clone(engine.Sources)
	slices.Sort(want)
	require.Equal(t, want, got)
}
