package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestResultRatio(t *testing.T) {
	r := result{
		Events:   1_000_000,
		Raw:      phase{Items: 1_000_000, Wall: 2 * time.Second},  // 500,000/s
		CHClient: phase{Items: 990_000, Wall: 4 * time.Second},    // 247,500/s
		Sanse:    phase{Items: 1_000_000, Wall: 10 * time.Second}, // 100,000/s
	}
	require.InDelta(t, 100_000.0/247_500, r.ratio(), 1e-9, "against the slower of the two parts")

	r.CHClient.Wall = time.Second // 990,000/s: now raw is the slower
	require.InDelta(t, 0.2, r.ratio(), 1e-9)

	r.Raw = phase{}
	require.True(t, math.IsNaN(r.ratio()), "no ratio without every phase")
}

func TestResultSamples(t *testing.T) {
	mk := func(consumed int64, rssMiB int64, cpu time.Duration) sample {
		return sample{Consumed: consumed, proc: procSample{RSS: rssMiB << 20, HWM: (rssMiB + 10) << 20, CPU: cpu}}
	}
	r := result{Events: 10_000_000}
	for i := int64(1); i <= 10; i++ {
		r.Samples = append(r.Samples, mk(i*1_000_000, 300+10*i, time.Duration(i)*3*time.Second))
	}
	r.Samples = append(r.Samples, mk(10_000_000, 500, 31*time.Second)) // the end

	require.InDelta(t, 3.1, r.cpuPerMillion(), 1e-9, "CPU at the last sample over the messages, in millions")
	lo, hi, n := r.rssWindow(flatWindow)
	require.Equal(t, 7, n, "the samples at 5, 6, …, 10 million and the end")
	require.Equal(t, int64(350)<<20, lo)
	require.Equal(t, int64(500)<<20, hi)
	require.Equal(t, int64(510)<<20, r.peakRSS())

	short := result{Events: 1_000_000, Samples: []sample{mk(1_000_000, 200, time.Second), mk(1_000_000, 250, 2*time.Second)}}
	lo, hi, n = short.rssWindow(flatWindow)
	require.Equal(t, 2, n, "a run shorter than the window: every sample")
	require.Equal(t, int64(200)<<20, lo)
	require.Equal(t, int64(250)<<20, hi)

	var out strings.Builder
	require.NoError(t, short.write(&out))
	require.Contains(t, out.String(), "1,000,000 messages")
	require.Contains(t, out.String(), "not run")
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 10_000_000: "10,000,000", -1234: "-1,234"} {
		require.Equal(t, want, thousands(n))
	}
}
