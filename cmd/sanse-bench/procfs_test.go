package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatus(t *testing.T) {
	status := []byte("Name:\tsanse\nVmPeak:\t 2000000 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  654321 kB\nThreads:\t12\n")
	rss, hwm, err := parseStatus(status)
	require.NoError(t, err)
	require.Equal(t, int64(654321)<<10, rss)
	require.Equal(t, int64(812345)<<10, hwm)

	_, _, err = parseStatus([]byte("Name:\tzombie\nThreads:\t1\n"))
	require.Error(t, err, "a process without memory lines (a zombie) has no sample")
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
	}{
		{"plain", "1234 (sanse) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 12 0 500 1000 200", 2870 * time.Millisecond},
		// The command name may hold spaces and parentheses.
		{"odd name", "99 (a) b (c)) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 10 20", 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := parseStatCPU([]byte("1 (short) S 1 2"))
	require.Error(t, err)
}

// TestReadProcSelf reads this process as the benchmark reads sanse.
func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, s.RSS)
	require.GreaterOrEqual(t, s.HWM, s.RSS)
}
