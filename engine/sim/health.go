package sim

import (
	"fmt"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

type mentalScreening struct {
	envelope
	StudentRef string `json:"student_ref"`
	Tier       string `json:"tier"`
}

type crisisReport struct {
	envelope
	StudentRef string `json:"student_ref"`
	Risk       string `json:"risk"`
	Channel    string `json:"channel"`
}

type symptomReport struct {
	envelope
	ClassRef   string `json:"class_ref"`
	StudentRef string `json:"student_ref"`
	Symptom    string `json:"symptom"`
	MealRef    string `json:"meal_ref,omitempty"`
}

type sickAbsence struct {
	envelope
	ClassRef   string `json:"class_ref"`
	AbsentSick int    `json:"absent_sick"`
	Enrolled   int    `json:"enrolled"`
}

// Probabilities at IncidentRate 1: per screening result, per symptom
// report (that it starts a cluster), per class count.
const (
	pTierAttention  = 0.12 // not an incident: a list for the psychology teacher
	pTierCrisis     = 0.0008
	pCluster        = 0.005
	pAbsenceCluster = 0.002
	classSize       = 40
)

var (
	crisisRisks    = []string{"self_harm", "suicidal_ideation", "suicide_attempt"}
	crisisWeights  = []float64{45, 50, 5}
	crisisChannels = []string{"teacher", "counselor", "parent", "peer", "hotline"}
	crisisChWeight = []float64{35, 30, 20, 10, 5}
	healthSymptoms = []string{"fever", "cough", "vomiting", "diarrhea", "abdominal_pain", "nausea", "rash"}
	symptomWeights = []float64{40, 25, 8, 6, 8, 5, 8}
	gastro         = []string{"vomiting", "diarrhea", "abdominal_pain", "nausea"}
)

// classRef returns the code of pupil n's class (3-2 for 三年级2班; K1-2 in
// a kindergarten), the pupil's grade and class by the school's size.
func (sc *school) classRef(n int) string {
	grades := map[engine.Stage][2]int{
		engine.StageKindergarten: {1, 3}, engine.StagePrimary: {1, 6}, engine.StageJunior: {7, 9},
		engine.StageSenior: {10, 12}, engine.StageVocational: {10, 12},
	}[sc.Stage]
	perGrade := grades[1] - grades[0] + 1
	classes := max(1, sc.students/classSize/perGrade)
	i := n % sc.students
	g := grades[0] + i*perGrade/sc.students
	c := i%classes + 1
	if sc.Stage == engine.StageKindergarten {
		return fmt.Sprintf("K%d-%d", g, c)
	}
	return fmt.Sprintf("%d-%d", g, c)
}

// mentalScreening starts a screening campaign of the mental health
// platform: a class after another, a pupil every few seconds.
func (s *Simulator) mentalScreening(sc *school, now time.Time, _ moment) message {
	r := s.r
	first := r.intn(sc.students)
	at := now
	for i := range r.between(15, 40) {
		at = s.after(at, 2*time.Second, 12*time.Second)
		ref := sc.student(first + i + 1)
		s.later(at, func(now time.Time, _ moment) message { return s.tier(sc, ref, now) })
	}
	return s.tier(sc, sc.student(first), now)
}

func (s *Simulator) tier(sc *school, ref string, now time.Time) message {
	ev := mentalScreening{StudentRef: ref, Tier: "normal"}
	incident := s.incident(pTierCrisis)
	switch {
	case incident:
		ev.Tier = "crisis"
	case s.r.chance(pTierAttention):
		ev.Tier = "attention"
	}
	ev.envelope = s.envelope(sc, srcMentalHealth, "screening", now, "psy-platform")
	return message{school: sc, source: srcMentalHealth, typ: "screening", body: ev, incident: incident}
}

// crisisReport makes a report of self-harm or suicide risk about a pupil.
// Every one is an incident; the stream's rate follows IncidentRate.
func (s *Simulator) crisisReport(sc *school, now time.Time, _ moment) message {
	r := s.r
	ev := crisisReport{StudentRef: sc.student(r.intn(sc.students)), Risk: crisisRisks[r.weighted(crisisWeights)],
		Channel: crisisChannels[r.weighted(crisisChWeight)]}
	ev.envelope = s.envelope(sc, srcMentalHealth, "crisis_report", now, "psy-platform")
	return message{school: sc, source: srcMentalHealth, typ: "crisis_report", body: ev, incident: true}
}

// symptomReport makes the school doctor's record of a pupil with symptoms.
// Rarely it is the first of a cluster: more pupils of the same class who
// ate the same lunch fall ill with the same kind of symptoms within hours.
func (s *Simulator) symptomReport(sc *school, now time.Time, m moment) message {
	r := s.r
	n := r.intn(sc.students)
	meal := ""
	if m.hour >= 12.5 && r.chance(0.5) {
		meal = date(now, 0) + "-lunch"
	}
	if s.incident(pCluster) {
		meal = date(now, 0) + "-lunch"
		class := sc.classRef(n)
		at := now
		for i := range r.between(2, 5) {
			at = s.after(at, 10*time.Minute, 70*time.Minute)
			pupil := n + (i+1)*max(1, sc.students/classSize) // same class, another pupil
			sym := pick(r, gastro)
			s.later(at, func(now time.Time, _ moment) message {
				return s.symptom(sc, now, class, sc.student(pupil), sym, meal, true)
			})
		}
		return s.symptom(sc, now, class, sc.student(n), pick(r, gastro), meal, true)
	}
	return s.symptom(sc, now, sc.classRef(n), sc.student(n), healthSymptoms[r.weighted(symptomWeights)], meal, false)
}

func (s *Simulator) symptom(sc *school, now time.Time, class, ref, sym, meal string, incident bool) message {
	ev := symptomReport{ClassRef: class, StudentRef: ref, Symptom: sym, MealRef: meal}
	ev.envelope = s.envelope(sc, srcHealth, "symptom_report", now, "school-doctor")
	return message{school: sc, source: srcHealth, typ: "symptom_report", body: ev, incident: incident}
}

// sickAbsence makes the morning's 因病缺课 count of a class: none to a few
// pupils, rarely five or more (a cluster to follow up).
func (s *Simulator) sickAbsence(sc *school, now time.Time) message {
	r := s.r
	ev := sickAbsence{ClassRef: sc.classRef(r.intn(sc.students)), Enrolled: r.between(classSize-8, classSize+5)}
	ev.AbsentSick = r.weighted([]float64{50, 30, 13, 5, 2})
	incident := s.tripIncident(pAbsenceCluster)
	if incident {
		ev.AbsentSick = r.between(5, 9)
	}
	ev.envelope = s.envelope(sc, srcHealth, "sick_absence", now, "attendance")
	return message{school: sc, source: srcHealth, typ: "sick_absence", body: ev, incident: incident}
}
