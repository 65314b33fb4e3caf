package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// benchMessages is a mixed stream over 100 schools: every source, mostly
// ordinary reports with a few incidents, as producers send them.
func benchMessages(n int) ([][]byte, []engine.Source, *engine.Registry) {
	var schools []engine.School
	for i := 0; i < 100; i++ {
		schools = append(schools, engine.School{ID: fmt.Sprintf("B-%03d", i), Name: "学校", District: "南湖区", Stage: engine.StagePrimary, Canteen: true})
	}
	reg, _ := engine.NewRegistry(schools)
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, engine.Shanghai)
	msgs := make([][]byte, n)
	srcs := make([]engine.Source, n)
	for i := range msgs {
		school := schools[i%len(schools)].ID
		at := start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		var body string
		switch i % 8 {
		case 0, 1, 2:
			wl := "none"
			if i%500 == 0 {
				wl = "blacklist"
			}
			srcs[i] = engine.SourceVisitor
			body = fmt.Sprintf(`"source":"visitor","type":"entry","visitor_id":"33040219800101%04d","name":"张三","id_verified":true,"watchlist":%q,"appointment":true,"host":"李老师","gate":"东门","during_class":false,"prohibited_items":false`, i%10000, wl)
		case 3, 4:
			c := 4.5
			if i%300 == 0 {
				c = 9.5
			}
			srcs[i] = engine.SourceCanteen
			body = fmt.Sprintf(`"source":"canteen","type":"storage_temp","device":"fridge-%d","celsius":%g,"zone":"fridge"`, i%3, c)
		case 5:
			srcs[i] = engine.SourceCanteen
			body = `"source":"canteen","type":"sample","dish":"红烧肉","weight_g":130,"retained_hours":48`
		case 6:
			srcs[i] = engine.SourceDrowning
			body = `"source":"drowning","type":"patrol","water_body":"南湖","hazard_found":false,"note":"正常"`
		default:
			srcs[i] = engine.SourceBullying
			body = fmt.Sprintf(`"source":"bullying","type":"screening","student_ref":"S-%d","score":%d,"threshold":60`, i%50, 30+i%40)
		}
		msgs[i] = []byte(fmt.Sprintf(`{"id":"b-%d","school_id":%q,"occurred_at":%q,"reporter":"dev-1",%s}`, i, school, at, body))
	}
	return msgs, srcs, reg
}

func benchEngine(b *testing.B, reg *engine.Registry) (*engine.Engine, *engine.Decoder) {
	set, errs := Default()
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	id, _ := engine.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	e := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	return e, &engine.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}
}

// BenchmarkEvaluate measures rules + colour per event on decoded events.
func BenchmarkEvaluate(b *testing.B) {
	msgs, srcs, reg := benchMessages(10000)
	e, dec := benchEngine(b, reg)
	events := make([]engine.Event, len(msgs))
	for i := range msgs {
		if err := dec.Decode(srcs[i], msgs[i], &events[i]); err != nil {
			b.Fatal(err)
		}
	}
	var out engine.Output
	e.Tick(events[0].OccurredAt, &out)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := events[i%len(events)]
		ev.ID = fmt.Sprint(i) // a new id each time, as in a real stream
		_ = e.Apply(&ev, &out)
		if out.Len() > 1024 {
			out.Reset()
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
}

// BenchmarkDecodeEvaluate measures decode + validate + rules + colour per event.
func BenchmarkDecodeEvaluate(b *testing.B) {
	msgs, srcs, reg := benchMessages(10000)
	e, dec := benchEngine(b, reg)
	var (
		out engine.Output
		ev  engine.Event
	)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(msgs)
		if err := dec.Decode(srcs[k], msgs[k], &ev); err != nil {
			b.Fatal(err)
		}
		ev.ID = fmt.Sprint(i)
		_ = e.Apply(&ev, &out)
		if out.Len() > 1024 {
			out.Reset()
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
}
