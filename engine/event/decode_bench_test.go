package event

import (
	"fmt"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// decodeBenchMessages is a mixed stream over 100 schools as producers send
// it: every source, visitors the most frequent, a few incidents.
func decodeBenchMessages(b *testing.B, n int) ([][]byte, []engine.Source, *Decoder) {
	var schools []engine.School
	for i := range 100 {
		schools = append(schools, engine.School{ID: fmt.Sprintf("JX-NH-%04d", i), Name: "学校", District: "南湖区", Stage: engine.StagePrimary, Canteen: true})
	}
	reg, err := engine.NewRegistry(schools)
	if err != nil {
		b.Fatal(err)
	}
	id, err := NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	dec := &Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}

	start := time.Date(2026, 11, 25, 8, 0, 0, 0, engine.Shanghai)
	msgs, srcs := make([][]byte, n), make([]engine.Source, n)
	for i := range msgs {
		school := schools[i%len(schools)].ID
		at := start.Add(time.Duration(i) * 1250 * time.Millisecond).Format(time.RFC3339Nano)
		var body string
		switch i % 10 {
		case 0, 1, 2:
			wl := "none"
			if i%500 == 0 {
				wl = "blacklist"
			}
			srcs[i] = engine.SourceVisitor
			body = fmt.Sprintf(`"source":"visitor","type":"entry","reporter":"gate-%d","visitor_id":"3304021980%08d","name":"张三","id_verified":true,"watchlist":%q,"appointment":true,"host":"李老师","gate":"东门","during_class":false,"prohibited_items":false`, i%4, i%100000, wl)
		case 3:
			srcs[i] = engine.SourceVisitor
			body = fmt.Sprintf(`"source":"visitor","type":"exit","reporter":"gate-1","visitor_id":"3304021980%08d","gate":"东门"`, i%100000)
		case 4, 5:
			c := 4.5
			if i%300 == 0 {
				c = 9.5
			}
			srcs[i] = engine.SourceCanteen
			body = fmt.Sprintf(`"source":"canteen","type":"storage_temp","reporter":"iot-hub","device":"fridge-%d","celsius":%g,"zone":"fridge"`, i%3, c)
		case 6:
			srcs[i] = engine.SourceCanteen
			body = `"source":"canteen","type":"ai_violation","reporter":"cam-kitchen-2","violation":"no_hat","confidence":0.93,"frame":{"w":1920,"h":1080,"boxes":[[12,40,200,310]]}`
		case 7:
			srcs[i] = engine.SourceDrowning
			body = `"source":"drowning","type":"patrol","reporter":"T-0042","water_body":"南湖","hazard_found":false,"note":"正常"`
		case 8:
			srcs[i] = engine.SourceDrowning
			body = fmt.Sprintf(`"source":"drowning","type":"fence_intrusion","reporter":"fence-7","water_body":"南湖","minors":true,"persons":%d`, 1+i%3)
		default:
			srcs[i] = engine.SourceBullying
			if i%20 == 9 {
				body = `"source":"bullying","type":"report","reporter":"anonymous","channel":"anonymous_app","victim_ref":"S-2026-0117","kind":"verbal","injury":false,"suspect_refs":["S-2026-0201","S-2026-0202"]`
			} else {
				body = fmt.Sprintf(`"source":"bullying","type":"screening","reporter":"psy-1","student_ref":"S-2026-%04d","score":%d,"threshold":60`, i%500, 30+i%40)
			}
		}
		msgs[i] = fmt.Appendf(nil, `{"id":"%s-%08d","school_id":%q,"occurred_at":%q,%s}`, srcs[i], i, school, at, body)
	}
	return msgs, srcs, dec
}

// BenchmarkDecode measures validating one event of a mixed stream.
func BenchmarkDecode(b *testing.B) {
	msgs, srcs, dec := decodeBenchMessages(b, 1000)
	var size int
	for _, m := range msgs {
		size += len(m)
	}
	var ev engine.Event
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(msgs)
		if err := dec.Decode(srcs[k], msgs[k], &ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
