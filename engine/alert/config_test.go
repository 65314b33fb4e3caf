package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
)

func TestQuietHours(t *testing.T) {
	night := []QuietHours{{Start: "22:00", End: "07:00"}}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, engine.Shanghai)
		require.NoError(t, err)
		return tm
	}
	for _, tc := range []struct {
		at    string
		quiet bool
		until string
	}{
		{"2026-11-25 21:59", false, ""},
		{"2026-11-25 22:00", true, "2026-11-26 07:00"},
		{"2026-11-26 03:30", true, "2026-11-26 07:00"},
		{"2026-11-26 07:00", false, ""},
		{"2026-11-26 12:00", false, ""},
	} {
		q, until := quiet(night, at(tc.at))
		require.Equal(t, tc.quiet, q, tc.at)
		if tc.quiet {
			require.True(t, until.Equal(at(tc.until)), "%s: until %s", tc.at, until)
		}
	}
	lunch := []QuietHours{{Start: "12:00", End: "13:30"}}
	q, until := quiet(lunch, at("2026-11-25 12:10"))
	require.True(t, q)
	require.True(t, until.Equal(at("2026-11-25 13:30")))
}

func TestRouteFor(t *testing.T) {
	yes := true
	root := Route{Receivers: []string{SchoolContact}, GroupWait: time.Second, RepeatInterval: time.Hour, SendResolved: &yes,
		Routes: []Route{
			{Match: map[string]string{"source": "visitor", "level": "red"}, Receivers: []string{SchoolContact, "security"}, Continue: true},
			{Match: map[string]string{"district": "南湖区"}, Receivers: []string{"nanhu"}, GroupWait: 5 * time.Second},
			{Match: map[string]string{"stage": "kindergarten"}, Receivers: []string{"preschool"}},
		}}
	school := &engine.School{Stage: engine.StagePrimary}
	rs, node := root.routeFor(labels(&Alert{Source: engine.SourceVisitor, Level: engine.LevelRed, District: "南湖区"}, school))
	require.Equal(t, []string{SchoolContact, "security", "nanhu"}, rs, "continue goes on to the next matching route")
	require.Equal(t, time.Second, node.GroupWait)

	rs, node = root.routeFor(labels(&Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "南湖区"}, school))
	require.Equal(t, []string{"nanhu"}, rs, "the first match wins")
	require.Equal(t, 5*time.Second, node.GroupWait)
	require.Equal(t, time.Hour, node.RepeatInterval, "inherited")

	rs, _ = root.routeFor(labels(&Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "秀洲区"},
		&engine.School{Stage: engine.StageKindergarten}))
	require.Equal(t, []string{"preschool"}, rs)

	rs, _ = root.routeFor(labels(&Alert{Source: engine.SourceCanteen, Level: engine.LevelYellow, District: "秀洲区"}, school))
	require.Equal(t, []string{SchoolContact}, rs, "no child matches: the node's own receivers")
}

func TestConfigValidate(t *testing.T) {
	c := Config{
		Route:      Route{Receivers: []string{"nobody"}, Routes: []Route{{Match: map[string]string{"colour": "red", "level": "green"}}}},
		Contacts:   Contacts{Towns: map[string]string{"新兴街道": "nobody"}},
		QuietHours: []QuietHours{{Start: "22h", End: "07:00"}},
	}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`alerting.route.receivers: no receiver is named "nobody"`,
		`alerting.route.routes[0].match: unknown label "colour"`,
		`alerting.route.routes[0].match.level: "green" is not red or yellow`,
		`alerting.contacts.towns: key "新兴街道" must be "district/town"`,
		`alerting.quiet_hours[0]: "22h" is not a time of day`,
	} {
		require.Contains(t, err.Error(), want)
	}
}
