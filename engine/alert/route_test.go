package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/notify"
)

func TestRouteFor(t *testing.T) {
	yes := true
	root := Route{Receivers: []string{SchoolContact}, GroupWait: time.Second, RepeatInterval: time.Hour, SendResolved: &yes,
		Routes: []Route{
			{Match: map[string]string{"source": "visitor", "level": "red"}, Receivers: []string{SchoolContact, "security"}, Continue: true},
			{Match: map[string]string{"district": "南湖区"}, Receivers: []string{"nanhu"}, GroupWait: 5 * time.Second},
			{Match: map[string]string{"stage": "kindergarten"}, Receivers: []string{"preschool"}},
		}}
	primary := &engine.School{Stage: engine.StagePrimary}
	for _, tc := range []struct {
		name      string
		alert     Alert
		school    *engine.School
		receivers []string
		groupWait time.Duration
		repeat    time.Duration
	}{
		{
			name:  "continue goes on to the next matching route",
			alert: Alert{Source: engine.SourceVisitor, Level: engine.LevelRed, District: "南湖区"}, school: primary,
			receivers: []string{SchoolContact, "security", "nanhu"}, groupWait: time.Second, repeat: time.Hour,
		},
		{
			name:  "the first match wins, its settings inherited from above",
			alert: Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "南湖区"}, school: primary,
			receivers: []string{"nanhu"}, groupWait: 5 * time.Second, repeat: time.Hour,
		},
		{
			name:  "the stage comes from the school",
			alert: Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "秀洲区"}, school: &engine.School{Stage: engine.StageKindergarten},
			receivers: []string{"preschool"}, groupWait: time.Second, repeat: time.Hour,
		},
		{
			name:  "no child matches: the node's own receivers",
			alert: Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "秀洲区"}, school: primary,
			receivers: []string{SchoolContact}, groupWait: time.Second, repeat: time.Hour,
		},
		{
			name:      "an unknown school has no stage",
			alert:     Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "秀洲区"},
			receivers: []string{SchoolContact}, groupWait: time.Second, repeat: time.Hour,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, node := root.routeFor(labels(&tc.alert, tc.school))
			require.Equal(t, tc.receivers, rs)
			require.Equal(t, tc.groupWait, node.GroupWait)
			require.Equal(t, tc.repeat, node.RepeatInterval)
		})
	}
}

func TestReceiversAndNextStep(t *testing.T) {
	contacts := Contacts{
		Schools:   map[string]string{"S1": "school-robot"},
		Towns:     map[string]string{"南湖区/新兴街道": "town"},
		Districts: map[string]string{"南湖区": "district"},
		City:      "city",
	}
	noTown := contacts
	noTown.Towns = nil
	s1 := Alert{SchoolID: "S1", District: "南湖区", Town: "新兴街道"}
	s2 := Alert{SchoolID: "S2", District: "南湖区", Town: "新兴街道"}
	for _, tc := range []struct {
		name     string
		contacts Contacts
		alert    Alert
		route    []string // the route's receivers of the school step
		maxStep  int
		want     [notify.StepCity + 1][]string
		upTo     []string // everyone told at the alert's step
		next     int
	}{
		{
			name: "every step has a contact", contacts: contacts, alert: s1, route: []string{SchoolContact, "security", "school-robot"},
			maxStep: notify.StepCity, want: [4][]string{{"school-robot", "security"}, {"town"}, {"district"}, {"city"}},
			upTo: []string{"school-robot", "security"}, next: notify.StepTown,
		},
		{
			name: "a step without a contact is skipped", contacts: noTown, alert: s1, route: []string{SchoolContact},
			maxStep: notify.StepCity, want: [4][]string{{"school-robot"}, nil, {"district"}, {"city"}},
			upTo: []string{"school-robot"}, next: notify.StepDistrict,
		},
		{
			name: "a school without a contact of its own", contacts: contacts, alert: s2, route: []string{SchoolContact},
			maxStep: notify.StepCity, want: [4][]string{nil, {"town"}, {"district"}, {"city"}},
			next: notify.StepTown,
		},
		{
			name: "told up to the district", contacts: contacts, alert: func() Alert { a := s1; a.Step = notify.StepDistrict; return a }(),
			route: []string{SchoolContact}, maxStep: notify.StepCity,
			want: [4][]string{{"school-robot"}, {"town"}, {"district"}, {"city"}},
			upTo: []string{"school-robot", "town", "district"}, next: notify.StepCity,
		},
		{
			name: "max step reached", contacts: contacts, alert: func() Alert { a := s1; a.Step = notify.StepDistrict; return a }(),
			route: []string{SchoolContact}, maxStep: notify.StepDistrict,
			want: [4][]string{{"school-robot"}, {"town"}, {"district"}, {"city"}},
			upTo: []string{"school-robot", "town", "district"}, next: -1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := func(step int) []string { return receiversAt(&tc.contacts, &tc.alert, step, tc.route) }
			for step := notify.StepSchool; step <= notify.StepCity; step++ {
				require.Equal(t, tc.want[step], at(step), "step %d", step)
			}
			require.Equal(t, tc.upTo, receiversUpTo(&tc.alert, at))
			require.Equal(t, tc.next, nextStep(&tc.alert, tc.maxStep, at))
		})
	}
}
