package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/store/storetest"
	"github.com/sanse-campus/sanse/rules"
)

// The schools of the scripted week: three in 南湖区 (two with a canteen),
// one in 秀洲区 that a report of 南湖区 must never show.
const (
	schoolA = "NH-A" // canteen; a blacklisted visitor and a late sample on Wednesday
	schoolB = "NH-B" // canteen; no 晨检 on Thursday
	schoolC = "NH-C" // no canteen: owes no canteen routine
	schoolD = "XZ-D" // another district, as much trouble as A
)

var shanghai = engine.Shanghai

// at returns the local time of day on 2026-11-dd.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, shanghai)
}

// history is the scripted week written to a store of its own.
type history struct {
	st  *store.Store
	reg *engine.Registry
	set *rules.Set
}

// scriptedWeek runs the engine with the default rule pack over Monday
// 2026-11-23 to Sunday 2026-11-29 of four schools, and stores what it
// wrote, with alerts and hazards of the same days.
func scriptedWeek(t *testing.T) *history {
	ctx := context.Background()
	st := storetest.Fresh(t, nil)
	reg, err := engine.NewRegistry([]engine.School{
		{ID: schoolA, Name: "南湖甲小学", District: "南湖区", Town: "南湖街道", Stage: engine.StagePrimary, Canteen: true},
		{ID: schoolB, Name: "南湖乙中学", District: "南湖区", Town: "城南街道", Stage: engine.StageJunior, Canteen: true},
		{ID: schoolC, Name: "南湖丙幼儿园", District: "南湖区", Town: "东栅街道", Stage: engine.StageKindergarten},
		{ID: schoolD, Name: "秀洲丁小学", District: "秀洲区", Town: "新城街道", Stage: engine.StagePrimary, Canteen: true},
	})
	require.NoError(t, err)
	set, errs := rules.Default()
	require.Empty(t, errs)
	eng := engine.New(func() engine.Evaluator { return set }, func() *engine.Registry { return reg })
	id, err := event.NewIdentity([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	dec := &event.Decoder{Registry: func() *engine.Registry { return reg }, Identity: id}

	type scripted struct {
		at  time.Time
		src engine.Source
		msg map[string]any
	}
	var events []scripted
	n := 0
	add := func(school string, when time.Time, src engine.Source, typ string, fields map[string]any) {
		n++
		msg := map[string]any{"id": fmt.Sprintf("ev-%04d", n), "school_id": school, "source": string(src), "type": typ,
			"occurred_at": when.Format(time.RFC3339)}
		for k, v := range fields {
			msg[k] = v
		}
		events = append(events, scripted{when, src, msg})
	}
	for day := 23; day <= 27; day++ { // Monday to Friday
		for _, s := range []string{schoolA, schoolB, schoolD} {
			if !(s == schoolB && day == 26) { // B: no 晨检 on Thursday
				add(s, at(day, 7, 30), engine.SourceCanteen, "health_check", map[string]any{"staff_id": "K01", "passed": true})
			}
			sample := at(day, 11, 0)
			if s == schoolA && day == 25 {
				sample = at(day, 15, 0) // A: the sample is logged late on Wednesday
			}
			add(s, sample, engine.SourceCanteen, "sample", map[string]any{"dish": "红烧肉", "weight_g": 125, "retained_hours": 48})
		}
	}
	for _, s := range []string{schoolA, schoolD} {
		add(s, at(25, 10, 0), engine.SourceVisitor, "entry", map[string]any{
			"visitor_id": "330402198001011234", "name": "张三", "id_verified": true, "watchlist": "blacklist", "gate": "东门"})
	}
	slices.SortStableFunc(events, func(a, b scripted) int { return a.at.Compare(b.at) })

	var out engine.Output
	flush := func(evs []engine.Event) {
		b := &engine.Batch{Events: evs, Output: out}
		require.NoError(t, st.Write(ctx, b))
		out = engine.Output{}
	}
	resolved := false
	next := 0
	for now := at(23, 0, 0); !now.After(at(30, 0, 0)); now = now.Add(5 * time.Minute) {
		var evs []engine.Event
		for next < len(events) && !events[next].at.After(now) {
			data, err := json.Marshal(events[next].msg)
			require.NoError(t, err)
			var ev engine.Event
			require.NoError(t, dec.Decode(events[next].src, data, &ev))
			require.NoError(t, eng.Apply(&ev, &out))
			evs = append(evs, ev)
			next++
		}
		eng.Tick(now, &out)
		// The visitor risks are resolved by a person at 12:30 on Wednesday.
		if !resolved && !now.Before(at(25, 12, 30)) {
			for _, s := range []string{schoolA, schoolD} {
				v, ok := eng.View(s)
				require.True(t, ok)
				var key string
				for _, r := range v.Risks {
					if r.Rule == "visitor.watchlist_entry" {
						key = r.Key
					}
				}
				require.NoError(t, eng.Resolve(s, "visitor.watchlist_entry", key, "safety-officer", "已核查", at(25, 12, 30), &out))
			}
			resolved = true
		}
		flush(evs)
	}
	require.Equal(t, len(events), next)

	// Alerts of the week, as the alert manager stores them.
	mk := func(id, school string, level engine.Level, opened, acked, solved time.Time, step int) *alert.Alert {
		s := reg.School(school)
		return &alert.Alert{ID: id, SchoolID: school, SchoolName: s.Name, District: s.District, Town: s.Town, Level: level,
			Status: alert.StatusResolved, Rule: "visitor.watchlist_entry", Title: "预警", OpenedAt: opened, UpdatedAt: solved,
			AcknowledgedAt: acked, ResolvedAt: solved, Step: step}
	}
	require.NoError(t, st.SaveAlerts(ctx, []*alert.Alert{
		mk("AL-1", schoolA, engine.LevelRed, at(25, 10, 0), at(25, 10, 10), at(25, 12, 30), 0),
		mk("AL-2", schoolA, engine.LevelYellow, at(25, 13, 0), at(25, 13, 30), at(25, 15, 0), 1),
		mk("AL-3", schoolD, engine.LevelRed, at(25, 10, 0), at(25, 11, 0), at(25, 12, 30), 2),
	}))

	// Hazards: one at A overdue and supervised, one at B verified after
	// two days, one at D.
	hz := func(id, school string, created, deadline, supervised, verified time.Time) {
		h := &hazard.Hazard{ID: id, SchoolID: school, Title: "消防通道堵塞", Category: "fire", Level: engine.SeverityMedium,
			Responsible: "总务处", Deadline: deadline, Status: hazard.StatusOpen, CreatedAt: created, CreatedBy: "inspector",
			UpdatedAt: created, Version: 1}
		require.NoError(t, st.WriteHazard(ctx, h, hazard.Transition{ID: id + ":1", HazardID: id, SchoolID: school, Version: 1,
			At: created, Action: hazard.ActionCreate, To: hazard.StatusOpen, By: "inspector"}))
		if !verified.IsZero() || !supervised.IsZero() {
			h.Version, h.UpdatedAt, h.SupervisedAt, h.VerifiedAt = 2, supervised, supervised, verified
			if verified.After(supervised) {
				h.UpdatedAt = verified
			}
			action, to := hazard.ActionSupervise, hazard.StatusOpen
			if !verified.IsZero() {
				action, to, h.Status = hazard.ActionVerify, hazard.StatusVerified, hazard.StatusVerified
			}
			require.NoError(t, st.WriteHazard(ctx, h, hazard.Transition{ID: id + ":2", HazardID: id, SchoolID: school, Version: 2,
				At: h.UpdatedAt, Action: action, From: hazard.StatusOpen, To: to, By: "system"}))
		}
	}
	hz("HZ-A", schoolA, at(23, 9, 0), at(25, 9, 0), at(25, 10, 0), time.Time{})
	hz("HZ-B", schoolB, at(24, 9, 0), at(27, 9, 0), time.Time{}, at(26, 9, 0))
	hz("HZ-D", schoolD, at(23, 9, 0), at(24, 9, 0), at(24, 10, 0), time.Time{})
	return &history{st: st, reg: reg, set: set}
}

func (h *history) builder() *report.Builder {
	return report.New(report.Options{
		History:  h.st,
		Registry: func() *engine.Registry { return h.reg },
		Rules:    func() *rules.Set { return h.set },
		BaseURL:  "https://sanse.example.edu.cn",
		Now:      func() time.Time { return time.Date(2026, 12, 4, 9, 0, 0, 0, shanghai) },
	})
}

func TestReportsOfAScriptedWeek(t *testing.T) {
	h := scriptedWeek(t)
	b := h.builder()
	ctx := context.Background()
	nanhu := report.Scope{District: "南湖区"}

	t.Run("daily", func(t *testing.T) {
		from, to := report.Previous(report.KindDaily, at(26, 7, 30), shanghai) // the run of Thursday 07:30
		require.Equal(t, at(25, 0, 0), from)
		r, err := b.Build(ctx, report.Spec{Kind: report.KindDaily, Scope: nanhu, From: from, To: to})
		require.NoError(t, err)
		require.Equal(t, "南湖区校园安全日报（2026年11月25日）", r.Title)
		require.Len(t, r.Schools, 3)

		// A was red from 10:00 to the resolution at 12:30, and yellow from
		// the sample deadline 13:00 until the sample at 15:00.
		require.Equal(t, []report.Day{{Date: at(25, 0, 0), Red: 0, Yellow: 0, Green: 3, EverRed: 1}}, r.Days)
		require.Len(t, r.Flagged, 1)
		require.Equal(t, schoolA, r.Flagged[0].School.ID)
		require.Equal(t, 150*time.Minute, r.Flagged[0].Red)
		require.Equal(t, 120*time.Minute, r.Flagged[0].Yellow)
		require.Equal(t, engine.LevelGreen, r.Flagged[0].End)
		var moves []string
		for _, c := range r.Changes {
			require.Equal(t, schoolA, c.School.ID, "no school outside 南湖区")
			moves = append(moves, c.At.Format("15:04")+" "+string(c.From)+"→"+string(c.To))
		}
		require.Equal(t, []string{"10:00 green→red", "12:30 red→green", "13:00 green→yellow", "15:00 yellow→green"}, moves)

		opened := map[string]int{}
		for _, x := range r.Risks {
			opened[x.Rule] += x.Opened
		}
		require.Equal(t, map[string]int{"visitor.watchlist_entry": 1, "canteen.no_sample_by_deadline": 1}, opened)

		// Two schools owed a sample and a 晨检; A's sample was late.
		require.Equal(t, []report.RoutineRow{
			{Rule: "canteen.no_sample_by_deadline", Title: "截至 13:00 未登记留样", Due: 2, Done: 1},
			{Rule: "canteen.no_health_check_by_deadline", Title: "截至 08:30 食堂从业人员未晨检", Due: 2, Done: 2},
		}, routinesByRule(r.Routines))

		// Alerts of A only: acknowledged after 10 and 30 minutes, resolved
		// after 2h30 and 2h.
		al := r.Alerts.Total
		require.Equal(t, 2, al.Alerts)
		require.Equal(t, report.Durations{N: 2, Median: 20 * time.Minute, Worst: 30 * time.Minute}, al.Ack)
		require.Equal(t, report.Durations{N: 2, Median: 135 * time.Minute, Worst: 150 * time.Minute}, al.Solve)
		require.Len(t, r.Alerts.ByStep, 2)

		// At the end of Wednesday both hazards of 南湖区 are open; A's is
		// past its deadline and supervised.
		require.Equal(t, 0, r.Hazards.Opened)
		require.Equal(t, 2, r.Hazards.OpenAtEnd)
		require.Equal(t, 1, r.Hazards.OverdueAtEnd)
		require.Equal(t, 1, r.Hazards.SupervisedAtEnd)
		require.Equal(t, "HZ-A", r.Hazards.Oldest[0].ID)

		out, err := b.Generate(ctx, report.Spec{Kind: report.KindDaily, Scope: nanhu, From: from, To: to})
		require.NoError(t, err)
		html := string(out.HTML)
		require.Contains(t, html, "南湖甲小学")
		require.NotContains(t, html, "秀洲丁小学")
		require.NotContains(t, html, "330402198001011234", "no ID number in a report")
		require.NotContains(t, html, "张三", "no visitor's name in a report")
		require.Contains(t, html, "https://sanse.example.edu.cn/?school="+schoolA)
		require.Contains(t, html, "<svg")

		tables := parseCSV(t, out.CSV)
		require.Equal(t, [][]string{{"canteen.no_sample_by_deadline", "截至 13:00 未登记留样", "2", "1", "50.0"},
			{"canteen.no_health_check_by_deadline", "截至 08:30 食堂从业人员未晨检", "2", "2", "100.0"}}, sortRows(tables["日常检查按时完成"]))
		require.Equal(t, []string{schoolA, "南湖甲小学", "南湖街道", "150", "120", "绿"}, tables["红黄色学校"][0][:6])
		require.Equal(t, []string{"合计", "2", "1", "2", "20", "30", "2", "135", "150", "0"}, tables["预警处置（按升级层级）"][0])
		require.Len(t, tables["颜色变化"], 4)
		require.NotContains(t, string(out.CSV), "秀洲")
	})

	t.Run("weekly", func(t *testing.T) {
		from, to := report.Previous(report.KindWeekly, at(30, 8, 0), shanghai) // the run of Monday 2026-11-30
		require.Equal(t, at(23, 0, 0), from)
		require.Equal(t, at(30, 0, 0), to)
		r, err := b.Build(ctx, report.Spec{Kind: report.KindWeekly, Scope: nanhu, From: from, To: to})
		require.NoError(t, err)
		require.Equal(t, "南湖区校园安全周报（2026年11月23日—2026年11月29日）", r.Title)
		require.Len(t, r.Days, 7)

		// B was yellow from Thursday's 晨检 deadline (08:30) until Friday's
		// 晨检 at 07:30.
		byID := map[string]report.SchoolPeriod{}
		for _, f := range r.Flagged {
			byID[f.School.ID] = f
		}
		require.Len(t, byID, 2)
		require.Equal(t, 23*time.Hour, byID[schoolB].Yellow)
		require.Zero(t, byID[schoolB].Red)
		require.Equal(t, 150*time.Minute, byID[schoolA].Red)
		thursday := r.Days[3]
		require.Equal(t, at(26, 0, 0), thursday.Date)
		require.Equal(t, report.Day{Date: at(26, 0, 0), Yellow: 1, Green: 2, EverYellowish: 1}, thursday)
		require.Equal(t, 1, r.Totals.EverRed)
		require.Equal(t, 1, r.Totals.EverYellow)

		// Five school days at two canteens; one late sample (A, Wednesday)
		// and one missing 晨检 (B, Thursday).
		require.Equal(t, []report.RoutineRow{
			{Rule: "canteen.no_sample_by_deadline", Title: "截至 13:00 未登记留样", Due: 10, Done: 9},
			{Rule: "canteen.no_health_check_by_deadline", Title: "截至 08:30 食堂从业人员未晨检", Due: 10, Done: 9},
		}, routinesByRule(r.Routines))
		require.Equal(t, 18, r.Totals.RoutineOK)

		require.Equal(t, 2, r.Hazards.Opened)
		require.Equal(t, 1, r.Hazards.Verified)
		require.Equal(t, report.Durations{N: 1, Median: 48 * time.Hour, Worst: 48 * time.Hour}, r.Hazards.VerifyTime)
		require.Equal(t, 1, r.Hazards.OpenAtEnd)
		require.Equal(t, 1, r.Hazards.OverdueAtEnd)

		// The week before has no history: the trend compares with zeros.
		require.NotNil(t, r.Previous)
		require.Zero(t, r.Previous.Risks)
		require.Zero(t, r.Previous.RoutineDue, "no routine counted done before the history begins")
		require.Equal(t, 3, r.Totals.Risks) // the visitor, the late sample, the missing 晨检

		out, err := b.Generate(ctx, report.Spec{Kind: report.KindWeekly, Scope: nanhu, From: from, To: to})
		require.NoError(t, err)
		tables := parseCSV(t, out.CSV)
		require.Equal(t, [][]string{{"canteen.no_sample_by_deadline", "截至 13:00 未登记留样", "10", "9", "90.0"},
			{"canteen.no_health_check_by_deadline", "截至 08:30 食堂从业人员未晨检", "10", "9", "90.0"}}, sortRows(tables["日常检查按时完成"]))
		require.Len(t, tables["每日三色分布"], 7)
		require.Equal(t, []string{"2026-11-26", "0", "1", "2", "0", "1"}, tables["每日三色分布"][3])
		require.Equal(t, []string{"2", "1", "1", "1", "1", "2880", "2880"}, tables["隐患"][0])
		require.True(t, bytes.HasPrefix(out.CSV, []byte("\ufeff")), "a byte-order mark for Excel")
	})

	t.Run("compliance so far today", func(t *testing.T) {
		// Thursday at 10:00: the 晨检 deadline (08:30) has passed and B
		// missed it; the sample deadline (13:00) has not come.
		rows, err := b.Compliance(ctx, []*engine.School{h.reg.School(schoolA), h.reg.School(schoolB), h.reg.School(schoolC)}, at(26, 10, 0))
		require.NoError(t, err)
		require.Equal(t, []report.RoutineRow{
			{Rule: "canteen.no_health_check_by_deadline", Title: "截至 08:30 食堂从业人员未晨检", Due: 2, Done: 1},
		}, rows)
	})

	t.Run("school", func(t *testing.T) {
		r, err := b.Build(ctx, report.Spec{Kind: report.KindWeekly, Scope: report.Scope{School: schoolB}, From: at(23, 0, 0), To: at(30, 0, 0)})
		require.NoError(t, err)
		require.Equal(t, "南湖乙中学校园安全周报（2026年11月23日—2026年11月29日）", r.Title)
		require.Len(t, r.Flagged, 1)
		require.Zero(t, r.Alerts.Total.Alerts)
	})

	t.Run("unknown scope", func(t *testing.T) {
		_, err := b.Build(ctx, report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "西湖区"}, From: at(25, 0, 0), To: at(26, 0, 0)})
		require.ErrorIs(t, err, report.ErrUnknownScope)
	})
}

func routinesByRule(rs []report.RoutineRow) []report.RoutineRow {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b report.RoutineRow) int { return -strings.Compare(a.Rule, b.Rule) })
	return out
}

func sortRows(rows [][]string) [][]string {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b []string) int { return -strings.Compare(a[0], b[0]) })
	return out
}

// parseCSV reads the report's CSV back into its tables by name, without
// their header rows.
func parseCSV(t *testing.T, data []byte) map[string][][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	require.NoError(t, err)
	tables := map[string][][]string{}
	var name string
	header := false
	for _, rec := range records {
		switch {
		case len(rec) == 1 && strings.HasPrefix(rec[0], "# "):
			name, header = strings.TrimPrefix(rec[0], "# "), true
			tables[name] = [][]string{}
		case len(rec) == 1 && rec[0] == "":
		case header:
			header = false
		default:
			tables[name] = append(tables[name], rec)
		}
	}
	return tables
}
