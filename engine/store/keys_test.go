package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVisitorKeyIsOnePerHistory(t *testing.T) {
	st := openTest(t, nil)
	require.NoError(t, st.CheckVisitorKey(t.Context(), "fp-a", "sanse-0"))
	require.NoError(t, st.CheckVisitorKey(t.Context(), "fp-a", "sanse-1"), "the same key again")
	err := st.CheckVisitorKey(t.Context(), "fp-b", "sanse-2")
	require.ErrorIs(t, err, ErrOtherVisitorKey)
	require.Contains(t, err.Error(), "fp-a")
	require.Contains(t, err.Error(), "privacy.visitor_key_file")
}
