package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type bullyingReport struct {
	envelope
	Channel     string   `json:"channel"`
	VictimRef   string   `json:"victim_ref"`
	SuspectRefs []string `json:"suspect_refs"`
	Kind        string   `json:"kind"`
	Injury      bool     `json:"injury"`
	CaseID      string   `json:"case_id,omitempty"`
}

// bullyingFinding is the school's finding (认定) on a reported incident.
type bullyingFinding struct {
	envelope
	VictimRef string `json:"victim_ref"`
	CaseID    string `json:"case_id,omitempty"`
	Outcome   string `json:"outcome"`
}

type screening struct {
	envelope
	StudentRef string  `json:"student_ref"`
	Score      float64 `json:"score"`
	Threshold  float64 `json:"threshold"`
}

// Screening scores are on a 0–100 scale with the warning line at 60.
const screeningThreshold = 60

// Incident probabilities at IncidentRate 1.
const (
	pScreeningHigh = 0.004
	pReportSeries  = 0.15
	// pPersistent is the share of incidents after which the pupil is
	// bullied again on the following days: two more incidents, each its own
	// case, which makes bullying.repeated_victim fire.
	pPersistent = 0.12
	// pFinding is the share of incidents whose finding (认定) the school
	// records; the others go overdue. The finding comes 20 minutes to 2
	// hours later: within the overdue deadline of the demo's scaled rules
	// (10 days × 1/60 = 4 hours).
	pFinding = 0.95
)

var (
	channels      = []string{"anonymous_app", "teacher", "parent", "hotline"}
	channelWeight = []float64{35, 30, 25, 10}
	kinds         = []string{"verbal", "physical", "exclusion", "cyber", "property"}
	kindWeight    = []float64{30, 25, 20, 15, 10}
)

// screeningBatch starts a 心理筛查 campaign: one class after another, a
// pupil every few seconds, a few dozen in all.
func (s *Simulator) screeningBatch(sc *school, now time.Time, _ moment) message {
	r := s.r
	first := r.intn(sc.students)
	at := now
	for i := range r.between(15, 40) {
		at = s.after(at, 2*time.Second, 12*time.Second)
		ref := sc.student(first + i + 1)
		s.later(at, func(now time.Time, _ moment) message { return s.screening(sc, ref, now) })
	}
	return s.screening(sc, sc.student(first), now)
}

func (s *Simulator) screening(sc *school, ref string, now time.Time) message {
	r := s.r
	incident := s.incident(pScreeningHigh)
	score := clamp(r.norm(36, 10), 5, screeningThreshold-1)
	if incident {
		// Over the line: most just over it (重点关注), a few at the crisis
		// tier, as real screenings find far fewer crises than pupils to
		// follow.
		score = r.uniform(screeningThreshold, screeningThreshold+15)
		if r.chance(0.15) {
			score = r.uniform(screeningThreshold+15, 90)
		}
	}
	ev := screening{StudentRef: ref, Score: round(score, 0), Threshold: screeningThreshold}
	ev.envelope = s.envelope(sc, engine.SourceBullying, "screening", now, "psy-screening")
	return message{school: sc, source: engine.SourceBullying, typ: "screening", body: ev, incident: incident}
}

// bullyingReport makes a report about a pupil, with one to three suspects.
// Some reports are followed by two more about the same pupil through other
// channels within minutes. Every report is an incident.
func (s *Simulator) bullyingReport(sc *school, now time.Time, _ moment) message {
	r := s.r
	victim := r.intn(sc.students)
	var suspects []string
	for n, off := r.between(1, 3), 0; len(suspects) < n; {
		off += r.between(1, 40)
		suspects = append(suspects, sc.student(victim+off))
	}
	// One incident, one case: a series of reports through other channels
	// carries the same case_id.
	caseID := s.caseID(sc)
	last := now
	if r.chance(pReportSeries) {
		for range 2 {
			last = s.after(last, time.Minute, 8*time.Minute)
			s.later(last, func(now time.Time, _ moment) message { return s.report(sc, victim, suspects, caseID, now) })
		}
	}
	s.finding(sc, victim, caseID, last)
	if r.chance(pPersistent) {
		// Further incidents about the same pupil on the following days,
		// each its own case with its own finding.
		at := now
		for range 2 {
			at = s.after(at, 20*time.Hour, 60*time.Hour)
			s.later(at, func(now time.Time, _ moment) message {
				id := s.caseID(sc)
				s.finding(sc, victim, id, now)
				return s.report(sc, victim, suspects, id, now)
			})
		}
	}
	return s.report(sc, victim, suspects, caseID, now)
}

// finding schedules, for most incidents, the school's finding (认定) 20
// minutes to 2 hours after the incident's last report.
func (s *Simulator) finding(sc *school, victim int, caseID string, last time.Time) {
	r := s.r
	if !r.chance(pFinding) {
		return
	}
	outcome := "is_bullying"
	if r.chance(0.4) {
		outcome = "not_bullying"
	}
	s.later(s.after(last, 20*time.Minute, 2*time.Hour), func(now time.Time, _ moment) message {
		ev := bullyingFinding{VictimRef: sc.student(victim), CaseID: caseID, Outcome: outcome}
		ev.envelope = s.envelope(sc, engine.SourceBullying, "finding", now, "committee")
		return message{school: sc, source: engine.SourceBullying, typ: "finding", body: ev}
	})
}

// caseID returns a new case number of the school's case system.
func (s *Simulator) caseID(sc *school) string {
	s.seq++
	return fmt.Sprintf("BY-%s-%06d", sc.ID, s.seq)
}

func (s *Simulator) report(sc *school, victim int, suspects []string, caseID string, now time.Time) message {
	r := s.r
	channel := channels[r.weighted(channelWeight)]
	kind := kinds[r.weighted(kindWeight)]
	pInjury := 0.02
	switch kind {
	case "physical":
		pInjury = 0.45
	case "property":
		pInjury = 0.05
	}
	reporter := "anonymous"
	switch channel {
	case "teacher":
		reporter = fmt.Sprintf("teacher-%02d", r.between(1, len(sc.teachers)))
	case "parent":
		reporter = "parent-app"
	case "hotline":
		reporter = "hotline-12355"
	}
	ev := bullyingReport{
		Channel: channel, VictimRef: sc.student(victim), SuspectRefs: slices.Clone(suspects),
		Kind: kind, Injury: r.chance(pInjury), CaseID: caseID,
	}
	ev.envelope = s.envelope(sc, engine.SourceBullying, "report", now, reporter)
	return message{school: sc, source: engine.SourceBullying, typ: "report", body: ev, incident: true}
}
