package sim

import (
	"math"
	"time"

	"github.com/sanse-campus/sanse/engine"
)

// moment is the local (Asia/Shanghai) time of day and calendar facts that
// the rates of the event streams depend on.
type moment struct {
	local     time.Time
	hour      float64 // 0 ≤ hour < 24, with fractions
	day       int64   // days since 1970-01-01, local
	month     int
	schoolDay bool // a weekday outside the holidays
	vacation  bool // summer vacation: no classes, more children near water
	flood     bool // flood season (汛期), June to September
	classTime bool // lessons are on
}

// momentAt reads t in Asia/Shanghai. The school calendar is approximate:
// weekdays, less the winter vacation (20 January – 20 February), the summer
// vacation (5 July – 31 August), and the May Day and National Day holidays.
func momentAt(t time.Time) moment {
	l := t.In(engine.Shanghai)
	m := moment{
		local: l,
		hour:  float64(l.Hour()) + float64(l.Minute())/60 + float64(l.Second())/3600,
		day:   (l.Unix() + 8*3600) / 86400,
		month: int(l.Month()),
	}
	md := int(l.Month())*100 + l.Day()
	m.vacation = md >= 705 && md <= 831
	holiday := m.vacation || (md >= 120 && md <= 220) || (md >= 501 && md <= 505) || (md >= 1001 && md <= 1007)
	wd := l.Weekday()
	m.schoolDay = wd != time.Saturday && wd != time.Sunday && !holiday
	m.flood = m.month >= 6 && m.month <= 9
	m.setSchoolDay(m.schoolDay)
	return m
}

// setSchoolDay says whether the day is a school day, and so whether lessons
// are on at the moment's hour.
func (m *moment) setSchoolDay(school bool) {
	m.schoolDay = school
	m.classTime = school && ((m.hour >= 8 && m.hour < 11.67) || (m.hour >= 13.5 && m.hour < 16.17))
}

// between reports whether from ≤ hour < to.
func (m moment) between(from, to float64) bool { return m.hour >= from && m.hour < to }

// weekend reports whether the day is a Saturday or Sunday.
func (m moment) weekend() bool {
	wd := m.local.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// bell is a bell curve around mean (hours) with the given width (hours).
func bell(h, mean, width float64) float64 {
	d := (h - mean) / width
	return math.Exp(-0.5 * d * d)
}

// date returns the local calendar date of t shifted by days, as 2006-01-02.
func date(t time.Time, days int) string {
	return t.In(engine.Shanghai).AddDate(0, 0, days).Format("2006-01-02")
}
