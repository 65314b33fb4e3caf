package sim

import "math"

// rng is a small deterministic random source (SplitMix64). The simulator and
// the registry generator use it instead of math/rand so that a seed gives the
// same output on every Go version, which the golden registry file relies on.
type rng struct {
	state uint64
}

func newRNG(seed int64) *rng {
	return &rng{state: uint64(seed) ^ 0x5DEECE66D}
}

// mix returns a well-mixed value for the given inputs, for values that must
// be the same whichever order events are generated in (a county's rain on a
// day, a water body's level at an hour).
func mix(vals ...uint64) uint64 {
	var h uint64 = 0x9E3779B97F4A7C15
	for _, v := range vals {
		h = splitmix(h ^ v)
	}
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// hashString returns a stable hash of s (FNV-1a).
func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (r *rng) uint64() uint64 {
	r.state += 0x9E3779B97F4A7C15
	return splitmix(r.state - 0x9E3779B97F4A7C15)
}

// float returns a value in [0, 1).
func (r *rng) float() float64 { return unit(r.uint64()) }

// intn returns a value in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	return int(r.uint64() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// uniform returns a value in [lo, hi).
func (r *rng) uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// norm returns a normally distributed value (Box–Muller).
func (r *rng) norm(mean, sd float64) float64 {
	u1 := r.float()
	if u1 < 1e-300 {
		u1 = 1e-300
	}
	return mean + sd*math.Sqrt(-2*math.Log(u1))*math.Cos(2*math.Pi*r.float())
}

// pick returns a random element of list.
func pick[T any](r *rng, list []T) T { return list[r.intn(len(list))] }

// weighted returns an index into weights chosen with probability
// proportional to its weight; weights must not all be zero.
func (r *rng) weighted(weights []float64) int {
	var total float64
	for _, w := range weights {
		total += w
	}
	x := r.float() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// round rounds v to the given number of decimals.
func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
