package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/notify"
)

func ids(as []*Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestCheckGroup(t *testing.T) {
	night := []QuietHours{{Start: "22:00", End: "07:00"}}
	red := &Alert{ID: "r", Level: engine.LevelRed}
	yellow := &Alert{ID: "y", Level: engine.LevelYellow}
	for _, tc := range []struct {
		name   string
		due    string
		now    string
		alerts []*Alert
		state  groupState
		newDue string
	}{
		{name: "not due yet", due: "2026-11-25 10:01", now: "2026-11-25 10:00", alerts: []*Alert{yellow}, state: groupWaiting, newDue: "2026-11-25 10:01"},
		{name: "due", due: "2026-11-25 10:00", now: "2026-11-25 10:00", alerts: []*Alert{yellow}, state: groupDue, newDue: "2026-11-25 10:00"},
		{name: "due, every alert resolved", due: "2026-11-25 10:00", now: "2026-11-25 10:05", state: groupEmpty, newDue: "2026-11-25 10:00"},
		{name: "yellow in quiet hours is held until they end", due: "2026-11-25 22:30", now: "2026-11-25 22:31", alerts: []*Alert{yellow}, state: groupHeld, newDue: "2026-11-26 07:00"},
		{name: "red in quiet hours is not held", due: "2026-11-25 22:30", now: "2026-11-25 22:31", alerts: []*Alert{red}, state: groupDue, newDue: "2026-11-25 22:30"},
		{name: "one red alert takes the group", due: "2026-11-25 22:30", now: "2026-11-25 22:31", alerts: []*Alert{yellow, red}, state: groupDue, newDue: "2026-11-25 22:30"},
		{name: "not due in quiet hours: waiting, not held", due: "2026-11-25 22:32", now: "2026-11-25 22:31", alerts: []*Alert{yellow}, state: groupWaiting, newDue: "2026-11-25 22:32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, due := checkGroup(shanghai(t, tc.due), tc.alerts, shanghai(t, tc.now), night)
			require.Equal(t, tc.state, state)
			require.True(t, due.Equal(shanghai(t, tc.newDue)), "due %s", due)
		})
	}
}

func TestGroupAddsOnce(t *testing.T) {
	var g group
	g.add("a")
	g.add("b")
	g.add("a")
	require.Equal(t, []string{"a", "b"}, g.alerts)
}

func TestInhibited(t *testing.T) {
	red := &Alert{ID: "r", Level: engine.LevelRed}
	yellow := &Alert{ID: "y", Level: engine.LevelYellow}
	yellow2 := &Alert{ID: "y2", Level: engine.LevelYellow}
	for _, tc := range []struct {
		name   string
		alerts []*Alert // to send
		level  engine.Level
		school []*Alert // the school's active alerts
		send   []string
		held   []string
	}{
		{name: "a red school's yellow alert is held", alerts: []*Alert{yellow, red}, level: engine.LevelRed, school: []*Alert{yellow, red},
			send: []string{"r"}, held: []string{"y"}},
		{name: "also when its red alert is not in this group", alerts: []*Alert{yellow, yellow2}, level: engine.LevelRed, school: []*Alert{red, yellow, yellow2},
			held: []string{"y", "y2"}},
		{name: "a yellow school sends its yellow alerts", alerts: []*Alert{yellow}, level: engine.LevelYellow, school: []*Alert{yellow},
			send: []string{"y"}},
		{name: "red now, but no red alert: sent", alerts: []*Alert{yellow}, level: engine.LevelRed, school: []*Alert{yellow},
			send: []string{"y"}},
		{name: "a red alert but the school fell back to yellow: sent", alerts: []*Alert{yellow}, level: engine.LevelYellow, school: []*Alert{red, yellow},
			send: []string{"y"}},
		{name: "a red alert is never held", alerts: []*Alert{red}, level: engine.LevelRed, school: []*Alert{red},
			send: []string{"r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send, held := splitInhibited(tc.alerts, tc.level, tc.school)
			require.Equal(t, tc.send, ids(send))
			require.Equal(t, tc.held, ids(held))
		})
	}
}

func TestDueNotices(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	esc := Escalation{Red: 10 * time.Minute, Yellow: 60 * time.Minute}
	alert := func(id string, l engine.Level, status Status, notified, stepAt int) *Alert {
		a := &Alert{ID: id, Level: l, Status: status, StepAt: at(stepAt)}
		if notified >= 0 {
			a.NotifiedAt = at(notified)
		}
		return a
	}
	for _, tc := range []struct {
		name      string
		alerts    []*Alert
		now       int // minutes
		next      int // the next step of every alert, -1 for none
		inhibited string
		escalate  []string
		repeat    []string
	}{
		{name: "nothing due", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, 0, 0)}, now: 5, next: 2},
		{name: "red escalates after its delay", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, 0, 0)}, now: 10, next: 2, escalate: []string{"r"}},
		{name: "yellow waits longer", alerts: []*Alert{alert("y", engine.LevelYellow, StatusFiring, 0, 0)}, now: 10, next: 2},
		{name: "yellow escalates after its own delay", alerts: []*Alert{alert("y", engine.LevelYellow, StatusFiring, 55, 0)}, now: 60, next: 2, escalate: []string{"y"}},
		{name: "nobody above: repeated instead", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, 0, 0)}, now: 30, next: -1, repeat: []string{"r"}},
		{name: "nobody above and no repeat due", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, 25, 0)}, now: 30, next: -1},
		{name: "repeat due, escalation not yet", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, 0, 25)}, now: 30, next: 2, repeat: []string{"r"}},
		{name: "escalation wins over a repeat", alerts: []*Alert{alert("y", engine.LevelYellow, StatusFiring, 0, 0)}, now: 60, next: 2, escalate: []string{"y"}},
		{name: "repeat every interval", alerts: []*Alert{alert("y", engine.LevelYellow, StatusFiring, 0, 0)}, now: 30, next: 2, repeat: []string{"y"}},
		{name: "acknowledged: nothing", alerts: []*Alert{alert("r", engine.LevelRed, StatusAcknowledged, 0, 0)}, now: 90, next: 2},
		{name: "first message not out yet: nothing", alerts: []*Alert{alert("r", engine.LevelRed, StatusFiring, -1, 0)}, now: 90, next: 2},
		{name: "inhibited: nothing", alerts: []*Alert{alert("y", engine.LevelYellow, StatusFiring, 0, 0), alert("r", engine.LevelRed, StatusFiring, 25, 25)},
			now: 30, next: 2, inhibited: "y"},
		{name: "several at once", alerts: []*Alert{alert("a", engine.LevelRed, StatusFiring, 0, 0), alert("b", engine.LevelYellow, StatusFiring, 0, 0),
			alert("c", engine.LevelYellow, StatusFiring, 0, 0)}, now: 30, next: 2, escalate: []string{"a"}, repeat: []string{"b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			escalate, repeat := dueNotices(tc.alerts, at(tc.now), notices{
				escalation:     esc,
				repeatInterval: func(*Alert) time.Duration { return 30 * time.Minute },
				nextStep:       func(*Alert) int { return tc.next },
				inhibited:      func(a *Alert) bool { return a.ID == tc.inhibited },
			})
			var up []string
			for _, e := range escalate {
				require.Equal(t, tc.next, e.step)
				up = append(up, e.alert.ID)
			}
			require.Equal(t, tc.escalate, up)
			require.Equal(t, tc.repeat, ids(repeat))
		})
	}
}

func TestByStep(t *testing.T) {
	a := &Alert{ID: "a", Step: 0}
	b := &Alert{ID: "b", Step: 2}
	c := &Alert{ID: "c", Step: 0}
	got := byStep([]*Alert{a, b, c})
	require.Equal(t, map[int][]*Alert{0: {a, c}, 2: {b}}, got)
}

func TestNewMessages(t *testing.T) {
	at := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	a := &Alert{ID: "alert:1", SchoolID: "S1", SchoolName: "一小", District: "南湖区", Town: "新兴街道", Level: engine.LevelRed, Title: "黑名单人员进校"}
	b := &Alert{ID: "alert:2", SchoolID: "S1", SchoolName: "一小", District: "南湖区", Town: "新兴街道", Level: engine.LevelYellow, Title: "卫生违规"}
	receivers := func(x *Alert) []string {
		if x == a {
			return []string{"school", "security"}
		}
		return []string{"school"}
	}
	ns := newMessages(notify.KindFiring, notify.StepSchool, []*Alert{a, b}, receivers, at, engine.LevelRed, "http://sanse.test", nil)
	require.Len(t, ns, 2, "one message per receiver")
	require.Equal(t, "school", ns[0].Receiver)
	require.Equal(t, []string{"alert:1", "alert:2"}, []string{ns[0].Message.Items[0].AlertID, ns[0].Message.Items[1].AlertID})
	require.Equal(t, "security", ns[1].Receiver)
	require.Len(t, ns[1].Message.Items, 1)
	require.Equal(t, "http://sanse.test/?school=S1", ns[0].Message.URL, "several alerts: the school")
	require.Equal(t, "http://sanse.test/?alert=alert%3A1", ns[0].Message.Items[0].URL)
	require.Equal(t, "http://sanse.test/?alert=alert%3A1", ns[1].Message.URL, "one alert: the alert")
	require.Equal(t, ns[0].ID, ns[0].Message.ID)
	require.True(t, ns[0].Created.Equal(at))

	again := newMessages(notify.KindFiring, notify.StepSchool, []*Alert{a, b}, receivers, at, engine.LevelRed, "", nil)
	require.Equal(t, ns[0].ID, again[0].ID, "the same message made again has the same id")
	for _, other := range []*notify.Notification{
		newMessage(notify.KindRepeat, "school", notify.StepSchool, []*Alert{a, b}, at, engine.LevelRed, "", nil),
		newMessage(notify.KindFiring, "school", notify.StepTown, []*Alert{a, b}, at, engine.LevelRed, "", nil),
		newMessage(notify.KindFiring, "school", notify.StepSchool, []*Alert{a, b}, at.Add(time.Millisecond), engine.LevelRed, "", nil),
		newMessage(notify.KindFiring, "school", notify.StepSchool, []*Alert{a}, at, engine.LevelRed, "", nil),
		ns[1],
	} {
		require.NotEqual(t, ns[0].ID, other.ID)
	}
	require.Empty(t, newMessages(notify.KindFiring, notify.StepSchool, []*Alert{a}, func(*Alert) []string { return nil }, at, engine.LevelRed, "", nil))
	require.Empty(t, schoolLink("", "S1"))
	require.Empty(t, again[0].Message.URL, "no links without the map's address")
	require.Empty(t, again[0].Message.Items[0].URL)
}

// A message names each alert's source as its declaration does, built-in or
// declared in a file.
func TestMessageNamesTheSource(t *testing.T) {
	contract, err := event.LoadContract("../../testdata/sources")
	require.NoError(t, err)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, engine.Shanghai)
	bus := &Alert{ID: "a-bus", SchoolID: "S1", Level: engine.LevelYellow, Status: StatusFiring, Source: "ferry", OpenedAt: at}
	pool := &Alert{ID: "a-pool", SchoolID: "S1", Level: engine.LevelRed, Status: StatusFiring, Source: engine.SourceDrowning, OpenedAt: at}
	none := &Alert{ID: "a-none", SchoolID: "S1", Level: engine.LevelRed, Status: StatusFiring, OpenedAt: at}
	n := newMessage(notify.KindFiring, "school", notify.StepSchool, []*Alert{bus, pool, none}, at, engine.LevelRed, "", contract)
	var names []string
	for _, it := range n.Message.Items {
		names = append(names, it.SourceName)
	}
	require.Equal(t, []string{"渡船", "防溺水", ""}, names)
	require.Equal(t, "防溺水", newMessage(notify.KindFiring, "school", notify.StepSchool, []*Alert{pool}, at, engine.LevelRed, "", nil).Message.Items[0].SourceName)
}
