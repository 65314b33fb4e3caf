package report_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/retry"
	"github.com/sanse-campus/sanse/engine/sim"
	"github.com/sanse-campus/sanse/engine/sim/calibrate"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// A month of a district's history for the monthly report's benchmark: the
// calibrated simulator's events run through the default rule pack by the
// calibration harness (engine/sim/calibrate, with its people who resolve,
// verify and check), every event and record stored with store.Write in
// large batches, the alerts the real alert manager opens from them, and
// the hazards the rules open plus those inspectors register.

// The benchmark's district: the first schools of 海宁市 that the registry
// generator makes (it has a fifth of 嘉兴市's people, so 2,500 schools of
// the city hold about 520 of it).
const (
	monthDistrict = "海宁市"
	monthSchools  = 500
	monthCity     = 2500
	monthSeed     = 1
	// monthBatch is how many events a store.Write takes: the ingest's
	// default batch size.
	monthBatch = 50000
)

// monthStart is the first day of the month generated; a day of warm-up
// (calibrate.DefaultWarmUp) before it is generated and stored too.
var monthStart = time.Date(2026, 11, 1, 0, 0, 0, 0, engine.Shanghai)

// monthRegistry returns the benchmark's district.
func monthRegistry(tb testing.TB) *engine.Registry {
	tb.Helper()
	var schools []engine.School
	for _, s := range sim.GenerateRegistry(monthSeed, monthCity) {
		if s.District == monthDistrict && len(schools) < monthSchools {
			schools = append(schools, s)
		}
	}
	require.Len(tb, schools, monthSchools)
	reg, err := engine.NewRegistry(schools)
	require.NoError(tb, err)
	return reg
}

// monthStats is what the generator made.
type monthStats struct {
	Events, Transitions, Changes int64
	Retries                      int64 // failed writes tried again
	Alerts, AlertVersions        int
	Hazards, HazardWrites        int
	RuleHazards                  int
	Took                         time.Duration
}

// generateMonth writes days of history from monthStart into st, printing
// progress to w.
func generateMonth(ctx context.Context, st *store.Store, reg *engine.Registry, set *rules.Set, days int, w io.Writer) (*monthStats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &monthGen{ctx: ctx, cancel: cancel, st: st, reg: reg, set: set, w: w, started: time.Now(), levels: map[string]engine.Level{},
		partitions: map[int]int64{}, hazards: map[string]*genHazard{}, open: map[string]*genHazard{},
		batch: &engine.Batch{}, writes: make(chan *engine.Batch, 1)}
	g.kept = &keptAlerts{latest: map[string]*alert.Alert{}, acked: map[string]engine.Level{}, gen: g}
	mgr, err := alert.New(alert.Options{
		Store: g.kept, Registry: func() *engine.Registry { return reg },
		Level: func(id string) engine.Level { return cmp.Or(g.levels[id], engine.LevelGreen) },
		Now:   func() time.Time { return g.now },
	})
	if err != nil {
		return nil, err
	}
	g.alerts = mgr

	var wg errgroup.Group
	wg.Go(g.writer)
	rate := sim.CalibratedRate * float64(reg.Len())
	rep, err := calibrate.Run(calibrate.Options{
		Registry: reg, Rules: set, Seed: monthSeed, Rate: rate, Start: monthStart, Days: days,
		Record: g.record,
		Progress: func(d calibrate.Day) {
			fmt.Fprintf(w, "  %s  %9d events  red %4.1f%%  yellow %4.1f%%   stored %10d events  (%s)\n", d.Date, d.Events,
				100*d.End.Red, 100*d.End.Yellow, g.stored.events.Load(), time.Since(g.started).Round(time.Second))
		},
	})
	if err == nil && g.batch.Len() > 0 {
		g.writes <- g.batch
	}
	close(g.writes)
	if werr := wg.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	stats := &monthStats{Events: g.stored.events.Load(), Transitions: g.stored.transitions.Load(), Changes: g.stored.changes.Load(),
		Retries: g.retries.Load()}
	fmt.Fprintf(w, "  engine: %d events measured, %d refused; stored %d events, %d risk transitions, %d colour changes, %d writes retried (%s)\n",
		rep.Events, rep.Rejected, stats.Events, stats.Transitions, stats.Changes, stats.Retries, time.Since(g.started).Round(time.Second))

	end := monthStart.AddDate(0, 0, days)
	if stats.Alerts, stats.AlertVersions, err = g.saveAlerts(end); err != nil {
		return nil, err
	}
	stats.RuleHazards = len(g.hazards)
	g.inspectorHazards(end)
	if stats.Hazards, stats.HazardWrites, err = g.saveHazards(end); err != nil {
		return nil, err
	}
	stats.Took = time.Since(g.started)
	stats.Retries = g.retries.Load()
	fmt.Fprintf(w, "  %d alerts (%d versions), %d hazards (%d opened by rules) in %d writes; %d writes retried in all; generated in %s\n",
		stats.Alerts, stats.AlertVersions, stats.Hazards, stats.RuleHazards, stats.HazardWrites, stats.Retries, stats.Took.Round(time.Second))
	return stats, nil
}

// monthGen turns what the calibration harness records into history.
type monthGen struct {
	ctx     context.Context
	st      *store.Store
	reg     *engine.Registry
	set     *rules.Set
	w       io.Writer
	started time.Time

	// now is the simulated time of the record at hand: the alert
	// manager's clock.
	now    time.Time
	levels map[string]engine.Level
	alerts *alert.Manager
	kept   *keptAlerts
	acks   []ackDue

	partitions map[int]int64 // the next Kafka offset of each partition
	batch      *engine.Batch
	writes     chan *engine.Batch
	stored     struct{ events, transitions, changes atomic.Int64 }
	retries    atomic.Int64
	cancel     context.CancelFunc

	hazards map[string]*genHazard // by id
	open    map[string]*genHazard // by school, rule and key, until verified
}

// record is calibrate.Options.Record.
func (g *monthGen) record(at time.Time, ev *engine.Event, out *engine.Output) error {
	g.now = at
	if ev != nil {
		e := *ev
		e.Values = nil // not stored
		src := g.set.Contract().Source(e.Source)
		e.Origin.Topic = src.Topic
		e.Origin.Partition = int(hash(e.SchoolID) % 16)
		e.Origin.Offset = g.partitions[e.Origin.Partition]
		g.partitions[e.Origin.Partition]++
		g.batch.Events = append(g.batch.Events, e)
	}
	for _, t := range out.Transitions {
		t.Risk.Evidence, t.Risk.Alarms = slices.Clone(t.Risk.Evidence), slices.Clone(t.Risk.Alarms)
		g.batch.Transitions = append(g.batch.Transitions, t)
		g.ruleHazard(&t)
	}
	for _, c := range out.Changes {
		g.batch.Changes = append(g.batch.Changes, c)
		g.levels[c.SchoolID] = c.To
	}
	if err := g.alerts.Observe(g.ctx, out); err != nil {
		return err
	}
	if ev == nil {
		if err := g.acknowledge(at); err != nil {
			return err
		}
	}
	if len(g.batch.Events) >= monthBatch {
		select {
		case g.writes <- g.batch:
		case <-g.ctx.Done():
			return g.ctx.Err()
		}
		g.batch = &engine.Batch{Events: make([]engine.Event, 0, monthBatch)}
	}
	return nil
}

// writeBackoff is how the generator retries a failed write, as the
// ingest does: the store is idempotent.
var writeBackoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Attempts: 8}

// retry calls write until it succeeds, counting and printing the failures.
func (g *monthGen) retry(write func(context.Context) error) error {
	return retry.Do(g.ctx, writeBackoff, write, func(attempt int, wait time.Duration, err error) {
		g.retries.Add(1)
		fmt.Fprintf(g.w, "  write failed (attempt %d), retrying in %s: %v\n", attempt, wait, err)
	})
}

// writer stores the batches, one at a time, while the next is made. A
// write that fails for good cancels the generation.
func (g *monthGen) writer() error {
	for b := range g.writes {
		if err := g.retry(func(ctx context.Context) error { return g.st.Write(ctx, b) }); err != nil {
			g.cancel()
			for range g.writes { // drain
			}
			return err
		}
		g.stored.events.Add(int64(len(b.Events)))
		g.stored.transitions.Add(int64(len(b.Transitions)))
		g.stored.changes.Add(int64(len(b.Changes)))
	}
	return nil
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// unit returns a number in [0, 1) fixed by the parts.
func unit(parts ...string) float64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return float64(h.Sum64()>>11) / (1 << 53)
}

func between(x float64, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(x*float64(hi-lo))
}

// workingHours reports whether the school's staff are at work at t: what
// the calibration harness's people keep to.
func workingHours(t time.Time) bool {
	l := t.In(engine.Shanghai)
	m := l.Hour()*60 + l.Minute()
	return m >= 7*60+30 && m < 18*60
}

// nextMorning returns the start of the next working hours at or after t.
func nextMorning(t time.Time) time.Time {
	l := t.In(engine.Shanghai)
	start := time.Date(l.Year(), l.Month(), l.Day(), 7, 30, 0, 0, engine.Shanghai)
	switch {
	case workingHours(t):
		return t
	case l.Before(start):
		return start
	}
	return start.AddDate(0, 0, 1)
}

// ackDue is an alert a person will acknowledge.
type ackDue struct {
	id string
	at time.Time
}

// Acknowledgement by the school's duty staff: a red alert (a phone call) at
// any hour within 2 to 30 minutes, a yellow one in working hours within 10
// minutes to 3 hours of it reaching them; one alert in eight is not
// acknowledged before the colour falls by itself.
const (
	ackRedMin, ackRedMax       = 2 * time.Minute, 30 * time.Minute
	ackYellowMin, ackYellowMax = 10 * time.Minute, 3 * time.Hour
	ackNever                   = 0.125
)

// schedule plans the acknowledgement of a firing alert just saved.
func (g *monthGen) schedule(a *alert.Alert) {
	if a.Status != alert.StatusFiring || g.kept.acked[a.ID] == a.Level {
		return
	}
	g.kept.acked[a.ID] = a.Level
	if unit(a.ID, string(a.Level), "never") < ackNever {
		return
	}
	x := unit(a.ID, string(a.Level), "ack")
	from := a.UpdatedAt
	var at time.Time
	if a.Level == engine.LevelRed {
		at = from.Add(between(x, ackRedMin, ackRedMax))
	} else {
		at = nextMorning(from).Add(between(x, ackYellowMin, ackYellowMax))
	}
	g.acks = append(g.acks, ackDue{id: a.ID, at: at})
}

// acknowledge acknowledges the alerts due at now.
func (g *monthGen) acknowledge(now time.Time) error {
	keep := g.acks[:0]
	var due []string
	for _, d := range g.acks {
		if d.at.After(now) {
			keep = append(keep, d)
		} else {
			due = append(due, d.id)
		}
	}
	g.acks = keep
	for _, id := range due {
		_, err := g.alerts.Acknowledge(g.ctx, id, "值班员", "已知悉，正在处置")
		if err != nil && !errors.Is(err, alert.ErrNotFound) && !errors.Is(err, alert.ErrResolved) {
			return err
		}
	}
	return nil
}

// Escalation as the default alerting configuration does it when every
// step has a contact: an alert not acknowledged goes one step up after 10
// minutes (red) or an hour (yellow) at its step, up to the city.
const maxStep = notify.StepCity

// saveAlerts gives every alert the step it reached, and stores them all.
func (g *monthGen) saveAlerts(end time.Time) (alerts, versions int, err error) {
	list := make([]*alert.Alert, 0, len(g.kept.latest))
	for _, a := range g.kept.latest {
		// The manager escalates on its own clock, which the harness does not
		// run: the step is what its escalation would have reached.
		until := end
		switch {
		case !a.AcknowledgedAt.IsZero():
			until = a.AcknowledgedAt
		case !a.ResolvedAt.IsZero():
			until = a.ResolvedAt
		}
		delay := alert.DefaultEscalateYellow
		if a.Level == engine.LevelRed {
			delay = alert.DefaultEscalateRed
		}
		a.Step = min(maxStep, int(until.Sub(a.OpenedAt)/delay))
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *alert.Alert) int { return a.OpenedAt.Compare(b.OpenedAt) })
	for chunk := range slices.Chunk(list, 10000) {
		if err := g.retry(func(ctx context.Context) error { return g.st.SaveAlerts(ctx, chunk) }); err != nil {
			return 0, 0, err
		}
	}
	return len(list), g.kept.versions, nil
}

// keptAlerts is the alert manager's store during the generation: the last
// version of each alert, all saved to ClickHouse at the end in large
// inserts (one insert per observed record would take hours). No receiver
// is configured, so no message is made.
type keptAlerts struct {
	mu       sync.Mutex
	latest   map[string]*alert.Alert
	acked    map[string]engine.Level // the level whose acknowledgement was planned
	versions int
	gen      *monthGen
}

func (k *keptAlerts) SaveAlerts(_ context.Context, as []*alert.Alert) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, a := range as {
		k.latest[a.ID] = a
		k.versions++
		k.gen.schedule(a)
	}
	return nil
}

func (k *keptAlerts) OpenAlerts(context.Context) ([]*alert.Alert, error)           { return nil, nil }
func (k *keptAlerts) Alerts(context.Context, alert.Filter) ([]*alert.Alert, error) { return nil, nil }
func (k *keptAlerts) Alert(context.Context, string) (*alert.Alert, error) {
	return nil, alert.ErrNotFound
}
func (k *keptAlerts) SaveNotifications(context.Context, []*notify.Notification) error {
	return nil
}
func (k *keptAlerts) SaveDeliveries(context.Context, []notify.Delivery) error { return nil }
func (k *keptAlerts) PendingNotifications(context.Context, time.Time) ([]*notify.Notification, error) {
	return nil, nil
}

// genHazard is one hazard and every version of it.
type genHazard struct {
	h     *hazard.Hazard
	steps []hazardStep
}

type hazardStep struct {
	h *hazard.Hazard
	t hazard.Transition
}

// step records a transition of g's hazard, made by change.
func (z *genHazard) step(at time.Time, action hazard.Action, to hazard.Status, by, comment string, change func(h *hazard.Hazard)) {
	at = at.Truncate(time.Millisecond) // what the store keeps
	next := z.h.Clone()
	from := next.Status
	if action == hazard.ActionCreate {
		from = ""
	} else {
		next.Version++
	}
	next.Status, next.UpdatedAt = to, at
	if change != nil {
		change(next)
	}
	z.h = next
	z.steps = append(z.steps, hazardStep{h: next, t: hazard.Transition{
		ID: fmt.Sprintf("%s:%d", next.ID, next.Version), HazardID: next.ID, SchoolID: next.SchoolID, Version: next.Version,
		At: at, Action: action, From: from, To: to, By: by, Comment: comment,
	}})
}

// ruleHazard opens the hazard a rule asks for when its risk opens, as the
// hazard manager does, and closes it when the harness's people resolve the
// risk (rectified and verified).
func (g *monthGen) ruleHazard(t *engine.RiskTransition) {
	r := g.set.Rule(t.Risk.Rule)
	if r == nil || r.Hazard == nil {
		return
	}
	k := t.SchoolID + "\x00" + t.Risk.Rule + "\x00" + t.Risk.Key
	z := g.open[k]
	switch {
	case t.State == engine.RiskOpened && z == nil:
		id := hazard.RuleID(t.SchoolID, t.Risk.Rule, t.Risk.Key, t.Risk.FirstSeen)
		if g.hazards[id] != nil {
			return
		}
		deadline := cmp.Or(r.Hazard.Deadline, hazard.DefaultDeadline)
		level := t.Risk.Severity
		if _, err := engine.ParseSeverity(string(level)); err != nil {
			level = engine.SeverityMedium
		}
		z = &genHazard{h: &hazard.Hazard{ID: id, SchoolID: t.SchoolID, Title: t.Risk.Title,
			Category: cmp.Or(r.Hazard.Category, hazard.CategoryOther), Level: level, Responsible: r.Hazard.Responsible,
			Deadline: t.Risk.FirstSeen.Add(deadline).Truncate(time.Millisecond), Origin: hazard.Origin{Rule: t.Risk.Rule, Key: t.Risk.Key, Source: t.Risk.Source},
			CreatedAt: t.At.Truncate(time.Millisecond), CreatedBy: hazard.System, Version: 1}}
		z.step(z.h.CreatedAt, hazard.ActionCreate, hazard.StatusOpen, hazard.System,
			fmt.Sprintf("规则 %s 发现隐患，自动登记", t.Risk.Rule), nil)
		g.hazards[id], g.open[k] = z, z
	case t.State == engine.RiskResolved && z != nil:
		g.rectify(z, t.At.Truncate(time.Millisecond), "整改负责人", "验收人")
		delete(g.open, k)
	}
}

// rectify records a hazard's rectification up to its verification at at:
// started a quarter of the way, submitted at three quarters.
func (g *monthGen) rectify(z *genHazard, at time.Time, by, inspector string) {
	span := at.Sub(z.h.CreatedAt)
	z.step(z.h.CreatedAt.Add(span/4), hazard.ActionStart, hazard.StatusRectifying, by, "已安排整改", nil)
	z.step(z.h.CreatedAt.Add(span*3/4), hazard.ActionSubmit, hazard.StatusSubmitted, by, "整改完成，提交验收",
		func(h *hazard.Hazard) {
			h.Evidence = append(h.Evidence, hazard.Evidence{Kind: hazard.EvidenceText, Value: "已整改并复查，附整改前后照片",
				By: by, At: h.UpdatedAt})
		})
	z.step(at, hazard.ActionVerify, hazard.StatusVerified, inspector, "现场复核合格，予以销号",
		func(h *hazard.Hazard) { h.VerifiedAt = at })
}

// Inspectors register hazards on school days during working hours, about
// two per school a month, and verify them 4 hours to 10 days later; the
// deadline to rectify is 72 hours (7 days for a fire hazard).
const (
	inspectorDaily                   = 0.1
	inspectorFixMin, inspectorFixMax = 4 * time.Hour, 10 * 24 * time.Hour
)

var inspectorTitles = map[string][]string{
	hazard.CategoryFood:     {"食堂冷藏柜温度记录缺失", "留样柜未上锁", "食品原料索证不全"},
	hazard.CategoryDrowning: {"河道护栏破损", "防溺水警示牌缺失", "救生圈配置不足"},
	hazard.CategoryBullying: {"心理辅导室未开放", "欺凌举报箱损坏"},
	hazard.CategoryGate:     {"校门口减速带损坏", "门卫室监控画面缺失", "护学岗人员不足"},
	hazard.CategoryFire:     {"消防通道堵塞", "灭火器过期", "应急照明灯损坏", "安全出口指示灯不亮"},
	hazard.CategoryOther:    {"教学楼外墙瓷砖松动", "体育器材锈蚀"},
}

// inspectorHazards adds the hazards inspectors registered up to end.
func (g *monthGen) inspectorHazards(end time.Time) {
	r := rand.New(rand.NewPCG(monthSeed, 2))
	cal := g.set.Calendar()
	for d := monthStart; d.Before(end); d = d.AddDate(0, 0, 1) {
		if cal != nil && !cal.SchoolDay(d.Add(12*time.Hour)) {
			continue
		}
		for _, s := range g.reg.Schools() {
			if r.Float64() >= inspectorDaily {
				continue
			}
			cat := hazard.Categories[r.IntN(len(hazard.Categories))]
			titles := inspectorTitles[cat]
			created := d.Add(8*time.Hour + time.Duration(r.IntN(9*60))*time.Minute)
			deadline := 72 * time.Hour
			if cat == hazard.CategoryFire {
				deadline = 7 * 24 * time.Hour
			}
			id := fmt.Sprintf("HZ-%s-%s", created.UTC().Format("20060102T150405"), s.ID)
			z := &genHazard{h: &hazard.Hazard{ID: id, SchoolID: s.ID, Title: titles[r.IntN(len(titles))], Category: cat,
				Level: []engine.Severity{engine.SeverityLow, engine.SeverityMedium}[r.IntN(2)], Responsible: "总务处",
				Deadline: created.Add(deadline), CreatedAt: created, CreatedBy: "督学", Version: 1}}
			z.step(created, hazard.ActionCreate, hazard.StatusOpen, "督学", "检查发现，登记隐患", nil)
			verified := nextMorning(created.Add(between(r.Float64(), inspectorFixMin, inspectorFixMax)))
			if verified.Before(end) {
				g.rectify(z, verified, "总务处", "督学")
			}
			g.hazards[id] = z
		}
	}
}

// saveHazards puts the hazards past their deadline under supervision at
// the deadline's minute, as the hazard manager's check does, and stores
// every version of every hazard with store.WriteHazard.
func (g *monthGen) saveHazards(end time.Time) (hazards, writes int, err error) {
	var all []*genHazard
	for _, z := range g.hazards {
		dl := z.h.Deadline
		if (z.h.VerifiedAt.IsZero() || z.h.VerifiedAt.After(dl)) && dl.Before(end) {
			at := dl.Truncate(time.Minute).Add(time.Minute)
			// Insert the supervision in time order: before a verification
			// that came later.
			var before []hazardStep
			for _, s := range z.steps {
				if s.t.At.After(at) {
					break
				}
				before = append(before, s)
			}
			rest := slices.Clone(z.steps[len(before):])
			z.steps, z.h = before, before[len(before)-1].h
			z.step(at, hazard.ActionSupervise, z.h.Status, hazard.System, "超过整改期限未销号，挂牌督办",
				func(h *hazard.Hazard) { h.SupervisedAt = at })
			for _, s := range rest {
				h := s.h.Clone()
				h.Version, h.SupervisedAt = z.h.Version+1, at
				t := s.t
				t.Version, t.ID = h.Version, fmt.Sprintf("%s:%d", h.ID, h.Version)
				z.steps, z.h = append(z.steps, hazardStep{h: h, t: t}), h
			}
		}
		all = append(all, z)
	}
	work := make(chan hazardStep)
	var wg errgroup.Group
	for range 4 {
		wg.Go(func() error {
			var err error
			for s := range work {
				if err == nil {
					err = g.retry(func(ctx context.Context) error { return g.st.WriteHazard(ctx, s.h, s.t) })
				}
			}
			return err
		})
	}
	for _, z := range all {
		for _, s := range z.steps {
			work <- s
			writes++
		}
	}
	close(work)
	return len(all), writes, wg.Wait()
}
