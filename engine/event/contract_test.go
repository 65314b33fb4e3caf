package event_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
)

// dormitory is a district's own source, declared with no code: 宿舍查寝
// at a boarding school.
const dormitory = `source: dormitory
topic: campus.dormitory
title: {zh: 宿舍, en: Dormitories}
types:
  bed_check: {fields: {dorm: {type: string, required: true}, expected: {type: int, required: true},
                       present: {type: int}, temp_c: {type: number}}}
  warden: {fields: {dorm: {type: string, required: true}, warden_phone: {type: string, personal: mask}}}
`

func writeSources(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	return dir
}

func TestDeclaredSourceDecodes(t *testing.T) {
	c, err := event.LoadContract(writeSources(t, map[string]string{"dormitory.yaml": dormitory}))
	require.NoError(t, err)
	require.Equal(t, []engine.Source{"visitor", "canteen", "drowning", "bullying", "fire_safety",
		"gate_security", "health", "mental_health", "school_bus", "dormitory"}, c.Names(), "the built-in ones first, then a district's own")
	dorm := c.Source("dormitory")
	require.NotNil(t, dorm)
	require.Equal(t, "campus.dormitory", dorm.Topic)
	require.Equal(t, dorm, c.ByTopic("campus.dormitory"))
	require.Equal(t, "宿舍", c.Title("dormitory", false))
	require.Equal(t, []string{"bed_check", "warden"}, dorm.TypeNames())

	d := newDecoder(t)
	d.Contract = c
	var ev engine.Event
	require.NoError(t, d.Decode("dormitory", []byte(`{"id":"b1","school_id":"S1","source":"dormitory","type":"bed_check",
		"occurred_at":"2026-11-02 21:31:05","dorm":"3-204","expected":6,"present":5,"temp_c":21.5}`), &ev))
	present, ok := c.Value(&ev, "present")
	require.True(t, ok)
	require.Equal(t, 5, present.Int())
	temp, _ := c.Value(&ev, "temp_c")
	require.InDelta(t, 21.5, temp.Num(), 0)
	require.Equal(t, time.Date(2026, 11, 2, 21, 31, 5, 0, engine.Shanghai).UnixMilli(), ev.OccurredAt.UnixMilli(),
		"a time without a zone is read in Asia/Shanghai")

	require.NoError(t, d.Decode("dormitory", []byte(`{"id":"w1","school_id":"S1","source":"dormitory","type":"warden",
		"occurred_at":"2026-11-02T21:00:00+08:00","dorm":"3-204","warden_phone":"13912345678"}`), &ev))
	phone, _ := c.Value(&ev, "warden_phone")
	require.Equal(t, "1391***5678", phone.Str())
	require.NotContains(t, string(ev.Payload), "13912345678")

	// Typed: an int field refuses a fraction, a required field is required.
	var de *event.DecodeError
	err = d.Decode("dormitory", []byte(`{"id":"b2","school_id":"S1","source":"dormitory","type":"bed_check",
		"occurred_at":"2026-11-02T21:00:00+08:00","dorm":"d","expected":1.5}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, event.ReasonBadValue, de.Reason)
	require.Equal(t, "expected", de.Field)
	err = d.Decode("dormitory", []byte(`{"id":"b3","school_id":"S1","source":"dormitory","type":"bed_check",
		"occurred_at":"2026-11-02T21:00:00+08:00","dorm":"d"}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, "missing_field: expected: required for dormitory bed_check", de.Error())

	// The dead letter of a dormitory message masks the declared personal field.
	require.NotContains(t, string(c.RedactRaw([]byte(`{"warden_phone":"13912345678"`), 0)), "13912345678")
}

// TestBuiltinSchoolBus decodes the built-in 校车 source of issue 12: the
// example of docs/events.md, now shipped.
func TestBuiltinSchoolBus(t *testing.T) {
	c := event.Builtin()
	bus := c.Source("school_bus")
	require.NotNil(t, bus)
	require.Equal(t, "campus.school_bus", bus.Topic)
	require.Equal(t, bus, c.ByTopic("campus.school_bus"))
	require.Equal(t, "校车", c.Title("school_bus", false))
	require.Equal(t, []string{"driver", "headcount", "position"}, bus.TypeNames())

	d := newDecoder(t)
	var ev engine.Event
	require.NoError(t, d.Decode("school_bus", []byte(`{"id":"p1","school_id":"S1","source":"school_bus","type":"position",
		"occurred_at":"2026-11-02 07:31:05","bus_id":"浙F-12345","speed_kmh":72.5}`), &ev))
	speed, ok := c.Value(&ev, "speed_kmh")
	require.True(t, ok)
	require.InDelta(t, 72.5, speed.Num(), 0)
	road, _ := c.Value(&ev, "road")
	require.Equal(t, "other", road.Str(), "the default of an absent road")

	require.NoError(t, d.Decode("school_bus", []byte(`{"id":"h1","school_id":"S1","source":"school_bus","type":"headcount",
		"occurred_at":1793575865000,"bus_id":"浙F-12345","trip_id":"AM-3","stage":"trip_end","boarded":31,"alighted":30,
		"escort_present":true}`), &ev))
	boarded, _ := c.Value(&ev, "boarded")
	require.Equal(t, 31, boarded.Int())
	require.Equal(t, int64(1793575865000), ev.OccurredAt.UnixMilli(), "epoch milliseconds")

	require.NoError(t, d.Decode("school_bus", []byte(`{"id":"d1","school_id":"S1","source":"school_bus","type":"driver",
		"occurred_at":"2026-11-02T07:00:00+08:00","bus_id":"浙F-12345","driver_phone":"13912345678"}`), &ev))
	phone, _ := c.Value(&ev, "driver_phone")
	require.Equal(t, "1391***5678", phone.Str())
	require.NotContains(t, string(ev.Payload), "13912345678")
	var stored map[string]any
	require.NoError(t, json.Unmarshal(ev.Payload, &stored))
	require.Equal(t, "1391***5678", stored["driver_phone"])

	var de *event.DecodeError
	err := d.Decode("school_bus", []byte(`{"id":"h2","school_id":"S1","source":"school_bus","type":"headcount",
		"occurred_at":"2026-11-02T07:00:00+08:00","bus_id":"b","trip_id":"t","stage":"boarding","boarded":1.5,"escort_present":true}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, event.ReasonBadValue, de.Reason)
	require.Equal(t, "boarded", de.Field)
	err = d.Decode("school_bus", []byte(`{"id":"h3","school_id":"S1","source":"school_bus","type":"headcount",
		"occurred_at":"2026-11-02T07:00:00+08:00","bus_id":"b","trip_id":"t","stage":"parked","boarded":1,"escort_present":true}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, event.ReasonBadValue, de.Reason, "stage is one of its values")
	err = d.Decode("school_bus", []byte(`{"id":"p2","school_id":"S1","source":"school_bus","type":"position",
		"occurred_at":"2026-11-02T07:00:00+08:00","bus_id":"b"}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, "missing_field: speed_kmh: required for school_bus position", de.Error())
	err = d.Decode("school_bus", []byte(`{"id":"p3","school_id":"S1","source":"school_bus","type":"position",
		"occurred_at":"2026-11-02T07:00:00+08:00","bus_id":"b","speed_kmh":"fast"}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, event.ReasonWrongType, de.Reason)
	require.NotContains(t, string(c.RedactRaw([]byte(`{"driver_phone":"13912345678"`), 0)), "13912345678")
}

func TestTimeFormats(t *testing.T) {
	d := newDecoder(t)
	at := func(v string) (time.Time, error) {
		var ev engine.Event
		err := d.Decode("", []byte(`{"id":"w","school_id":"S1","source":"drowning","type":"weather","rain_mm_24h":1,"occurred_at":`+v+`}`), &ev)
		return ev.OccurredAt, err
	}
	want := time.Date(2026, 11, 2, 9, 30, 0, 0, engine.Shanghai)
	for _, v := range []string{`"2026-11-02T09:30:00+08:00"`, `"2026-11-02T01:30:00Z"`, `"2026-11-02 09:30:00"`, `1793583000000`} {
		got, err := at(v)
		require.NoError(t, err, v)
		require.True(t, want.Equal(got), "%s: got %s", v, got)
	}
	got, err := at(`"2026-11-02 09:30:00.250"`)
	require.NoError(t, err)
	require.Equal(t, 250, got.Nanosecond()/1e6)
	for _, v := range []string{`"2026/11/02 09:30"`, `"yesterday"`, `1.5`, `-1`, `"2026-11-02"`} {
		_, err := at(v)
		var de *event.DecodeError
		require.ErrorAs(t, err, &de, v)
		require.Equal(t, event.ReasonBadValue, de.Reason, v)
	}
	// A district in another zone reads local times in its own.
	d.Location = time.FixedZone("UTC+6", 6*3600)
	got, err = at(`"2026-11-02 07:30:00"`)
	require.NoError(t, err)
	require.True(t, want.Equal(got))
}

func TestContractErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown type", "source: bus\ntopic: t.bus\ntypes:\n  pos:\n    fields:\n      speed: {type: float}\n",
			`bus.yaml:6: field speed: unknown type "float", expected string, number, int, bool, time, date or [string]`},
		{"unknown key", "source: bus\ntopic: t.bus\ntypes:\n  pos:\n    fields:\n      speed: {type: number, requird: true}\n",
			`bus.yaml:6: field speed: unknown key "requird"`},
		{"no types", "source: bus\ntopic: t.bus\n", "bus.yaml:1: types: required"},
		{"envelope field", "source: bus\ntopic: t.bus\ntypes:\n  pos:\n    fields:\n      school_id: {type: string}\n",
			`bus.yaml:6: field "school_id" is part of every event's envelope`},
		{"two declarations", "source: bus\ntopic: t.bus\ntypes:\n  a: {fields: {x: {type: int}}}\n  b: {fields: {x: {type: string}}}\n",
			`bus.yaml:5: field "x" is declared differently by another type of bus`},
		{"built-in twice", "source: visitor\ntopic: t.v2\ntypes:\n  a: {fields: {x: {type: int}}}\n",
			`bus.yaml: source "visitor" is already declared in sources/visitor.yaml`},
		{"topic taken", "source: bus\ntopic: campus.canteen\ntypes:\n  a: {fields: {x: {type: int}}}\n",
			`topic "campus.canteen" is already the topic of source "canteen"`},
		{"bad personal", "source: bus\ntopic: t.bus\ntypes:\n  a: {fields: {x: {type: string, personal: encrypt}}}\n",
			`bus.yaml:4: field x: personal: unknown treatment "encrypt", expected mask, hash or drop`},
		{"not YAML", "source: [", "bus.yaml: not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.LoadContract(writeSources(t, map[string]string{"bus.yaml": tt.text}))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestBuiltinReadables(t *testing.T) {
	v := event.Builtin().Source(engine.SourceVisitor)
	_, ok := v.Readable("visitor_id")
	require.False(t, ok, "a hashed field is read only as its hash and masked form")
	for _, name := range []string{"visitor_hash", "visitor_masked", "name", "watchlist"} {
		_, ok := v.Readable(name)
		require.True(t, ok, name)
	}
	l, ok := event.Builtin().Label("no_hat")
	require.True(t, ok)
	require.Equal(t, "未戴工作帽", l)
}

func TestDispositionEvents(t *testing.T) {
	d := newDecoder(t)
	var ev engine.Event
	require.NoError(t, d.Decode("", []byte(`{"id":"a1","school_id":"S1","source":"canteen","type":"ai_violation",
		"occurred_at":"2026-11-02T09:00:00+08:00","violation":"rodent","alarm_id":"MK-778","snapshot_url":"https://cam.example/778.jpg"}`), &ev))
	require.Equal(t, "MK-778", ev.AlarmID)
	require.Empty(t, ev.Disposition)

	require.NoError(t, d.Decode("", []byte(`{"id":"a2","school_id":"S1","source":"canteen","type":"disposition",
		"occurred_at":"2026-11-02T09:20:00+08:00","alarm_id":"MK-778","state":"false_alarm","note":"猫"}`), &ev))
	require.Equal(t, "MK-778", ev.AlarmID)
	require.Equal(t, engine.DispositionFalseAlarm, ev.Disposition)

	var de *event.DecodeError
	err := d.Decode("", []byte(`{"id":"a3","school_id":"S1","source":"canteen","type":"disposition",
		"occurred_at":"2026-11-02T09:20:00+08:00","alarm_id":"MK-778","state":"maybe"}`), &ev)
	require.ErrorAs(t, err, &de)
	require.Equal(t, event.ReasonBadValue, de.Reason)
	require.Contains(t, de.Error(), "confirmed, false_alarm, handled")

	// A source without alarms has no disposition type.
	require.Nil(t, event.Builtin().Source(engine.SourceVisitor).Type("disposition"))
}

// TestDroppedPersonalField: a field declared personal: drop is checked and
// kept nowhere: not in the stored payload, not readable by rules.
func TestDroppedPersonalField(t *testing.T) {
	c, err := event.LoadContract(writeSources(t, map[string]string{"dorm.yaml": `source: dorm_check
topic: district.dorm
types:
  night_check:
    fields:
      room: {type: string, required: true}
      parent_phone: {type: string, personal: drop, values: ["13912345678", "13812345678"]}
      absent: {type: int}
`}))
	require.NoError(t, err)
	d := newDecoder(t)
	d.Contract = c
	var ev engine.Event
	require.NoError(t, d.Decode("dorm_check", []byte(`{"id":"n1","school_id":"S1","source":"dorm_check","type":"night_check",
		"occurred_at":"2026-11-02T22:00:00+08:00","room":"3-204","parent_phone":"13912345678","absent":1}`), &ev))
	require.NotContains(t, string(ev.Payload), "parent_phone")
	require.NotContains(t, string(ev.Payload), "13912345678")
	_, readable := c.Value(&ev, "parent_phone")
	require.False(t, readable)
	absent, _ := c.Value(&ev, "absent")
	require.Equal(t, 1, absent.Int())
	room, _ := c.Value(&ev, "room")
	require.Equal(t, "3-204", room.Str())
	var de *event.DecodeError
	require.ErrorAs(t, d.Decode("dorm_check", []byte(`{"id":"n2","school_id":"S1","source":"dorm_check","type":"night_check",
		"occurred_at":"2026-11-02T22:00:00+08:00","room":"3-204","parent_phone":"13700000000"}`), &ev), &de)
	require.Equal(t, event.ReasonBadValue, de.Reason, "a dropped field is still checked")
}
