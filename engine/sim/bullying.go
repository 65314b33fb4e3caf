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

type finding struct {
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
	pPersistent    = 0.12 // the pupil is bullied again on later days
	pFinding       = 0.9  // the school's committee finds within days
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
		score = r.uniform(screeningThreshold, 86)
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
	caseID := ""
	if r.chance(0.5) {
		caseID = s.caseID(sc)
	}
	if r.chance(pReportSeries) {
		// One incident reported through other channels within minutes:
		// the same case where the platform gives case numbers.
		at := now
		for range 2 {
			at = s.after(at, time.Minute, 8*time.Minute)
			s.later(at, func(now time.Time, _ moment) message { return s.report(sc, victim, suspects, caseID, now) })
		}
	}
	if r.chance(pPersistent) {
		// Further incidents about the same pupil on the following days.
		at := now
		for range 2 {
			at = s.after(at, 20*time.Hour, 60*time.Hour)
			s.later(at, func(now time.Time, _ moment) message { return s.report(sc, victim, suspects, s.caseID(sc), now) })
		}
	}
	if r.chance(pFinding) {
		// 认定 by the school's committee, after the last report.
		s.later(s.after(now, 20*time.Hour, 4*24*time.Hour), func(now time.Time, _ moment) message {
			ev := finding{VictimRef: sc.student(victim), CaseID: caseID, Outcome: "is_bullying"}
			if s.r.chance(0.35) {
				ev.Outcome = "not_bullying"
			}
			ev.envelope = s.envelope(sc, engine.SourceBullying, "finding", now, "bullying-committee")
			return message{school: sc, source: engine.SourceBullying, typ: "finding", body: ev}
		})
	}
	return s.report(sc, victim, suspects, caseID, now)
}

// caseID returns a new case number of the school's case system.
func (s *Simulator) caseID(sc *school) string {
	s.seq++
	return fmt.Sprintf("CASE-%s-%d", sc.ID, s.seq)
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
