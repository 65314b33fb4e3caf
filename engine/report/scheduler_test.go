package report

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

// harness is one scheduler over shared fakes.
type harness struct {
	s       *Scheduler
	gen     *fakeGenerator
	deliver *recordingDeliverer
	reg     *prometheus.Registry
}

// fakes are the collaborators instances share: the history (archive and
// claims), the registry and the clock.
type fakes struct {
	archive *memArchive
	claims  *memClaims
	clock   *clock
	reg     *engine.Registry
}

func newFakes(t *testing.T, now time.Time) *fakes {
	return &fakes{archive: newMemArchive(), claims: &memClaims{}, clock: newClock(now), reg: testRegistry(t)}
}

func districtDaily(t *testing.T) ScheduleConfig {
	return ScheduleConfig{Name: "district-daily", Cron: "30 7 * * *", Kind: KindDaily, AllDistricts: true,
		Receivers: []string{"office"}}
}

// instance returns a scheduler named name over f, with the schedules.
func (f *fakes) instance(t *testing.T, name string, schedules ...ScheduleConfig) *harness {
	t.Helper()
	c := Config{Schedules: schedules, CatchUpRuns: 7}
	list, err := c.Compile(officeReceiver)
	require.NoError(t, err)
	h := &harness{gen: &fakeGenerator{now: f.clock.Now}, deliver: &recordingDeliverer{}, reg: prometheus.NewRegistry()}
	h.s, err = NewScheduler(SchedulerOptions{
		Schedules: list, CatchUpRuns: c.CatchUpRuns, Instance: name, Settle: -1,
		Generator: h.gen, Archive: f.archive, Claims: f.claims, Deliverer: h.deliver,
		Registry: func() *engine.Registry { return f.reg }, Now: f.clock.Now, Registerer: h.reg,
		sleep: func(context.Context, time.Duration) error { return nil },
	})
	require.NoError(t, err)
	return h
}

func dayKeys(schedule string, scopes []string, days ...time.Time) []string {
	var out []string
	for _, d := range days {
		for _, sc := range scopes {
			out = append(out, schedule+"/daily/"+sc+"/"+d.Format(time.DateOnly))
		}
	}
	slices.Sort(out)
	return out
}

// officeReceiver is the receiver the schedules name.
var officeReceiver = []notify.ReceiverConfig{{Name: "office", Webhook: &notify.WebhookConfig{URL: "https://hooks.example.org/"}}}

var bothDistricts = []string{"district:南湖区", "district:秀洲区"}

func TestSchedulerMakesTheDueRunOnce(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	h := f.instance(t, "a", districtDaily(t))
	h.s.Check(t.Context())
	// A new schedule owes only its latest period, not the whole window.
	require.Equal(t, dayKeys("district-daily", bothDistricts, day(2026, 12, 2)), f.archive.keys())
	require.Equal(t, 2, h.gen.count())
	require.Len(t, h.deliver.ids(), 2)
	require.Equal(t, 3, h.deliver.files[IDForKey("district-daily/daily/district:南湖区/2026-12-02")], "html, csv and pdf")

	// Checked again, nothing is owed.
	f.clock.Add(time.Minute)
	h.s.Check(t.Context())
	require.Equal(t, 2, h.gen.count())
	require.Len(t, h.deliver.ids(), 2)
	require.Equal(t, 2.0, testutil.ToFloat64(h.s.metrics.runs.WithLabelValues("district-daily", "made")))
	require.Zero(t, testutil.ToFloat64(h.s.metrics.missing.WithLabelValues("district-daily")))

	e := f.archive.entries[IDForKey("district-daily/daily/district:南湖区/2026-12-02")]
	require.Equal(t, "district-daily", e.Schedule)
	require.Equal(t, "南湖区", e.District)
	require.Equal(t, []Format{FormatHTML, FormatCSV, FormatPDF}, e.Formats)
	require.Equal(t, day(2026, 12, 2), e.Spec.From)
	require.Equal(t, day(2026, 12, 3), e.Spec.To)
}

// TestSchedulerCatchesUpOnce: the service was down three days; when it
// comes back it makes the three missed days of each district, once, and a
// restarted instance (another name) makes nothing again.
func TestSchedulerCatchesUpOnce(t *testing.T) {
	f := newFakes(t, at(2026, 11, 30, 8, 0))
	first := f.instance(t, "a", districtDaily(t))
	first.s.Check(t.Context())
	require.Equal(t, dayKeys("district-daily", bothDistricts, day(2026, 11, 29)), f.archive.keys())

	// Down from 2026-11-30 08:00 until 2026-12-03 09:00.
	f.clock.Set(at(2026, 12, 3, 9, 0))
	back := f.instance(t, "b", districtDaily(t))
	back.s.Check(t.Context())
	require.Equal(t, dayKeys("district-daily", bothDistricts,
		day(2026, 11, 29), day(2026, 11, 30), day(2026, 12, 1), day(2026, 12, 2)), f.archive.keys())
	require.Equal(t, 6, back.gen.count())
	require.Len(t, back.deliver.ids(), 6)
	// Oldest first.
	require.Equal(t, day(2026, 11, 30), back.gen.calls[0].From)
	require.Equal(t, day(2026, 12, 2), back.gen.calls[5].From)

	again := f.instance(t, "c", districtDaily(t))
	again.s.Check(t.Context())
	back.s.Check(t.Context())
	require.Zero(t, again.gen.count())
	require.Equal(t, 6, back.gen.count())
	require.Equal(t, 8, f.archive.saves, "every report archived once")
}

// TestSchedulerCatchUpIsBounded: down for a month, it makes the last
// CatchUpRuns days only.
func TestSchedulerCatchUpIsBounded(t *testing.T) {
	f := newFakes(t, at(2026, 11, 1, 8, 0))
	f.instance(t, "a", districtDaily(t)).s.Check(t.Context())
	f.clock.Set(at(2026, 12, 3, 9, 0))
	h := f.instance(t, "b", districtDaily(t))
	h.s.Check(t.Context())
	require.Equal(t, 14, h.gen.count(), "seven days of two districts")
	require.Equal(t, day(2026, 11, 26), h.gen.calls[0].From)
}

// TestSchedulersRaceForMissedRuns: two instances come back at the same
// moment and check at once, their claims for each run made at the same
// instant; every missed run is made exactly once.
func TestSchedulersRaceForMissedRuns(t *testing.T) {
	f := newFakes(t, at(2026, 11, 30, 8, 0))
	f.instance(t, "seed", districtDaily(t)).s.Check(t.Context())
	f.clock.Set(at(2026, 12, 3, 9, 0))

	added, settled := newBarrier(2), newBarrier(2)
	f.claims.beforeAdd = added.wait
	a, b := f.instance(t, "a", districtDaily(t)), f.instance(t, "b", districtDaily(t))
	for _, h := range []*harness{a, b} {
		h.s.claimer.sleep = func(context.Context, time.Duration) error { settled.wait(); return nil }
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.s.Check(t.Context()) })
	wg.Go(func() { b.s.Check(t.Context()) })
	wg.Wait()

	require.Equal(t, 6, a.gen.count()+b.gen.count(), "six missed runs, each made once")
	require.Equal(t, 6, a.gen.count(), "claims of one instant go to the first name")
	require.Equal(t, 8, f.archive.saves)
	require.Len(t, append(a.deliver.ids(), b.deliver.ids()...), 6, "and delivered once")
	require.Equal(t, 6.0, testutil.ToFloat64(b.s.metrics.runs.WithLabelValues("district-daily", "skipped")))
}

// TestSchedulerTakesOverAfterTheLease: an instance claimed a run and
// stopped before archiving it; another instance leaves the run alone while
// the claim's lease lasts and makes it once the lease ran out.
func TestSchedulerTakesOverAfterTheLease(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	key := "district-daily/daily/district:南湖区/2026-12-02"
	require.NoError(t, f.claims.AddReportClaim(t.Context(), Claim{Key: key, Instance: "gone", At: f.clock.Now(), Step: StepRun}))

	h := f.instance(t, "b", districtDaily(t))
	h.s.Check(t.Context())
	require.Equal(t, dayKeys("district-daily", []string{"district:秀洲区"}, day(2026, 12, 2)), f.archive.keys())
	require.Equal(t, 1.0, testutil.ToFloat64(h.s.metrics.missing.WithLabelValues("district-daily")))

	f.clock.Add(DefaultClaimLease - time.Second)
	h.s.Check(t.Context())
	require.Len(t, f.archive.keys(), 1, "still within the lease")

	f.clock.Add(time.Second)
	h.s.Check(t.Context())
	require.Equal(t, dayKeys("district-daily", bothDistricts, day(2026, 12, 2)), f.archive.keys())
	require.Zero(t, testutil.ToFloat64(h.s.metrics.missing.WithLabelValues("district-daily")))
}

// TestSchedulerRetriesAFailedRunAfterItsLease: a run that failed is not
// tried at every check but once its own claim's lease has run out.
func TestSchedulerRetriesAFailedRunAfterItsLease(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	h := f.instance(t, "a", districtDaily(t))
	h.gen.err = errFake
	h.s.Check(t.Context())
	require.Empty(t, f.archive.keys())
	require.Equal(t, 2, h.gen.count())
	require.Equal(t, 2.0, testutil.ToFloat64(h.s.metrics.failures.WithLabelValues("district-daily", "generate")))

	h.gen.err = nil
	f.clock.Add(time.Minute)
	h.s.Check(t.Context())
	require.Equal(t, 2, h.gen.count(), "not again within the lease")

	f.clock.Add(DefaultClaimLease)
	h.s.Check(t.Context())
	require.Equal(t, 4, h.gen.count())
	require.Len(t, f.archive.keys(), 2)
}

// TestSchedulerFillsAHole: of three missed days one failed; the days after
// it are made, and the failed one is made once its lease has run out.
func TestSchedulerFillsAHole(t *testing.T) {
	f := newFakes(t, at(2026, 11, 30, 8, 0))
	f.instance(t, "seed", districtDaily(t)).s.Check(t.Context())
	f.clock.Set(at(2026, 12, 3, 9, 0))
	h := f.instance(t, "a", districtDaily(t))
	h.gen.failFor = func(s Spec) bool { return s.From.Equal(day(2026, 12, 1)) && s.Scope.District == "南湖区" }
	h.s.Check(t.Context())
	require.NotContains(t, f.archive.keys(), "district-daily/daily/district:南湖区/2026-12-01")
	require.Contains(t, f.archive.keys(), "district-daily/daily/district:南湖区/2026-12-02")

	h.gen.failFor = nil
	f.clock.Add(DefaultClaimLease)
	h.s.Check(t.Context())
	require.Contains(t, f.archive.keys(), "district-daily/daily/district:南湖区/2026-12-01")
	require.Len(t, f.archive.keys(), 8)
}

// TestSchedulerDeliversWhatWasNeverQueued: the report was archived but its
// messages never reached the outbox; a later check, after the run's lease,
// delivers it once.
func TestSchedulerDeliversWhatWasNeverQueued(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	h := f.instance(t, "a", districtDaily(t))
	h.deliver.fail = errFake
	h.s.Check(t.Context())
	require.Len(t, f.archive.keys(), 2)
	require.Empty(t, h.deliver.ids())
	require.Equal(t, 2.0, testutil.ToFloat64(h.s.metrics.failures.WithLabelValues("district-daily", "deliver")))

	h.deliver.fail = nil
	f.clock.Add(time.Minute)
	h.s.Check(t.Context())
	require.Empty(t, h.deliver.ids(), "the instance that made it may still be delivering it")

	f.clock.Add(DefaultClaimLease)
	other := f.instance(t, "b", districtDaily(t))
	other.s.Check(t.Context())
	h.s.Check(t.Context())
	require.Len(t, append(other.deliver.ids(), h.deliver.ids()...), 2, "each report delivered once")
	require.Equal(t, 3, other.deliver.files[other.deliver.ids()[0]], "with its files read back from the archive")
	require.Equal(t, 2, h.gen.count()+other.gen.count(), "and not made again")
}

func TestSchedulerSkipsUnknownScopes(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	h := f.instance(t, "a", ScheduleConfig{Name: "schools", Cron: "30 7 * * *", Kind: KindDaily, Schools: []string{"NH-1", "GONE-9"}})
	h.s.Check(t.Context())
	require.Equal(t, []string{"schools/daily/school:NH-1/2026-12-02"}, f.archive.keys())
	require.Equal(t, 1.0, testutil.ToFloat64(h.s.metrics.failures.WithLabelValues("schools", "unknown_scope")))
	f.clock.Add(time.Minute)
	h.s.Check(t.Context())
	require.Equal(t, 1.0, testutil.ToFloat64(h.s.metrics.failures.WithLabelValues("schools", "unknown_scope")), "told once per period")
	f.clock.Add(24 * time.Hour)
	h.s.Check(t.Context())
	require.Equal(t, 2.0, testutil.ToFloat64(h.s.metrics.failures.WithLabelValues("schools", "unknown_scope")), "and again the next")
	e := f.archive.entries[IDForKey("schools/daily/school:NH-1/2026-12-02")]
	require.Equal(t, "南湖区", e.District, "a school report carries its school's district")
}

// TestSchedulerFollowsTheRegistry: districts: all is the registry in force
// at each run; a district added later owes its latest period only.
func TestSchedulerFollowsTheRegistry(t *testing.T) {
	f := newFakes(t, at(2026, 12, 3, 7, 30))
	h := f.instance(t, "a", districtDaily(t))
	h.s.Check(t.Context())
	reg, err := engine.NewRegistry(append(slices.Collect(func(yield func(engine.School) bool) {
		for _, s := range f.reg.Schools() {
			if !yield(*s) {
				return
			}
		}
	}), engine.School{ID: "JS-1", Name: "嘉善一小", District: "嘉善县", Stage: engine.StagePrimary}))
	require.NoError(t, err)
	f.reg = reg
	f.clock.Set(at(2026, 12, 5, 8, 0))
	h.s.Check(t.Context())
	require.Contains(t, f.archive.keys(), "district-daily/daily/district:嘉善县/2026-12-04")
	require.NotContains(t, f.archive.keys(), "district-daily/daily/district:嘉善县/2026-12-03")
	require.Contains(t, f.archive.keys(), "district-daily/daily/district:南湖区/2026-12-03")
}

func TestSchedulerNeedsADelivererForReceivers(t *testing.T) {
	c := Config{Schedules: []ScheduleConfig{districtDaily(t)}}
	list, err := c.Compile(officeReceiver)
	require.NoError(t, err)
	_, err = NewScheduler(SchedulerOptions{Schedules: list, Generator: &fakeGenerator{}, Archive: newMemArchive(),
		Claims: &memClaims{}, Registry: func() *engine.Registry { return nil }})
	require.ErrorContains(t, err, "district-daily has receivers")
}
