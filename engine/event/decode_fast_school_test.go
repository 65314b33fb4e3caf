package event

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/sanse-campus/sanse/engine"
)

func registryOf(t testing.TB, ids ...string) *engine.Registry {
	t.Helper()
	schools := make([]engine.School, len(ids))
	for i, id := range ids {
		schools[i] = engine.School{ID: id, Name: "学校"}
	}
	reg, err := engine.NewRegistry(schools)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// checkSchool fails t unless the index answers for b what the registry does.
func checkSchool(t testing.TB, x *schoolIndex, reg *engine.Registry, b []byte) {
	t.Helper()
	id, ok := x.school(b)
	s := reg.School(string(b))
	switch {
	case ok != (s != nil):
		t.Fatalf("index finds %q: %v, the registry: %v", b, ok, s != nil)
	case ok && (id != s.ID || unsafe.StringData(id) != unsafe.StringData(s.ID)):
		t.Fatalf("index returns %q for %q, not the registry's copy of %q", id, b, s.ID)
	}
}

// TestSchoolIndex holds the index to the registry's map: every id, every
// id with one byte changed, cut or extended, and random ones.
func TestSchoolIndex(t *testing.T) {
	ids := []string{"S1", "S", "s1", "JX-NH-0001-ABCDE", "JX-NH-0001-ABCDEF", "JX-NH-0001-ABCDEFGHIJKLMN", "一小", "学校-北京-0001",
		"A\x00", "A\x00\x00", "x\xff"}
	for i := range 3000 {
		ids = append(ids, fmt.Sprintf("JX-%s-%04d", []string{"NH", "XZ", "TX", "HN", "HY", "PH", "JS"}[i%7], i))
	}
	reg := registryOf(t, ids...)
	x := newSchoolIndex(reg)
	r := rand.New(rand.NewPCG(11, 12))
	for _, id := range ids {
		b := []byte(id)
		checkSchool(t, x, reg, b)
		checkSchool(t, x, reg, b[:len(b)-1])
		checkSchool(t, x, reg, append(append([]byte(nil), b...), 0))
		checkSchool(t, x, reg, append(append([]byte(nil), b...), 'A'))
		for range 4 {
			c := append([]byte(nil), b...)
			c[r.IntN(len(c))] ^= byte(1 + r.IntN(255))
			checkSchool(t, x, reg, c)
		}
	}
	const alphabet = "JX-NH0123456789S\x00\xff"
	for range 20000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkSchool(t, x, reg, b)
	}
	checkSchool(t, x, reg, nil)
	if _, ok := newSchoolIndex(registryOf(t)).school([]byte("S1")); ok {
		t.Fatal("an empty registry has S1")
	}
}

// TestSchoolIndexRegistries checks that each registry is looked up in its
// own index, with more registries in turn than are kept indexed.
func TestSchoolIndexRegistries(t *testing.T) {
	var regs []*engine.Registry
	for i := range 6 {
		regs = append(regs, registryOf(t, fmt.Sprintf("R%d", i), "S1"))
	}
	for round := range 3 {
		for i, reg := range regs {
			x := indexOf(reg)
			if x.reg != reg {
				t.Fatalf("round %d: registry %d has the index of another", round, i)
			}
			for j := range regs {
				if _, ok := x.school(fmt.Appendf(nil, "R%d", j)); ok != (i == j) {
					t.Fatalf("round %d: registry %d has R%d: %v", round, i, j, ok)
				}
			}
		}
	}
	if first, again := indexOf(regs[5]), indexOf(regs[5]); first != again {
		t.Fatal("a registry is indexed again")
	}
}

// TestDecodeRegistryChange decodes against a registry that changes: the
// school added is found, the school removed is not.
func TestDecodeRegistryChange(t *testing.T) {
	before, after := registryOf(t, "S1", "S2"), registryOf(t, "S1", "S3")
	cur := before
	d := newSeedDecoder(t)
	d.Registry = func() *engine.Registry { return cur }
	msg := func(school string) []byte {
		return fmt.Appendf(nil, `{"id":"x","school_id":%q,"source":"drowning","type":"weather","occurred_at":"2026-11-02T09:00:00Z","rain_mm_24h":1}`, school)
	}
	for _, step := range []struct {
		reg    *engine.Registry
		school string
		ok     bool
	}{{before, "S2", true}, {before, "S3", false}, {after, "S2", false}, {after, "S3", true}, {before, "S2", true}, {after, "S1", true}} {
		cur = step.reg
		var ev engine.Event
		err := d.Decode("", msg(step.school), &ev)
		if (err == nil) != step.ok {
			t.Fatalf("school %s: %v", step.school, err)
		}
		if err == nil && ev.SchoolID != step.school {
			t.Fatalf("school %s decoded as %q", step.school, ev.SchoolID)
		}
	}
	d.Registry = func() *engine.Registry { return nil }
	var ev engine.Event
	if err := d.Decode("", msg("S1"), &ev); err == nil {
		t.Fatal("a nil registry has S1")
	}
}
