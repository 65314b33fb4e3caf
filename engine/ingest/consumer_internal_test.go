package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOffsetsAdvance(t *testing.T) {
	tests := []struct {
		name      string
		partition int
		next      int64
		want      map[string]map[int]int64
	}{
		{name: "first offset", partition: 0, next: 5, want: map[string]map[int]int64{"t": {0: 5}}},
		{name: "forward", partition: 0, next: 9, want: map[string]map[int]int64{"t": {0: 9}}},
		{name: "never back", partition: 0, next: 7, want: map[string]map[int]int64{"t": {0: 9}}},
		{name: "other partition", partition: 1, next: 1, want: map[string]map[int]int64{"t": {0: 9, 1: 1}}},
	}
	o := offsets{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o.advance("t", tc.partition, tc.next)
			require.Equal(t, tc.want, map[string]map[int]int64(o))
		})
	}
}
