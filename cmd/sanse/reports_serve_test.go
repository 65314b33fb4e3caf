package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/registry"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/engine/testsmtp"
	"github.com/sanse-campus/sanse/rules"
)

// TestScheduledReportsAcrossRestarts runs `sanse serve` in-process with a
// daily schedule for 南湖区 whose receiver is a real SMTP server. The
// archive holds the schedule's report of three days ago, as if the
// service had stopped after making it: two instances started together
// make the two days missed since — each once, mailed once with its HTML
// and CSV — and a third started after them makes nothing more.
func TestScheduledReportsAcrossRestarts(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	regFile := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(regFile, []byte(e2eRegistry), 0o644))
	sink := testsmtp.New(t)
	cfg := fmt.Sprintf(`alerting:
  receivers:
    - name: nanhu-mail
      email:
        smarthost: %s
        from: 三色预警 <sanse@nanhu.example.edu.cn>
        to: [anquanke@nanhu.example.edu.cn]
        starttls: false
reports:
  check_interval: 1s
  pdf: none
  schedules:
    - name: district-daily
      cron: "0 0 * * *"
      kind: daily
      districts: [南湖区]
      receivers: [nanhu-mail]
`, sink.Addr)
	cfgFile := filepath.Join(dir, "sanse.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o644))

	// The report of three days ago, made and archived by an instance that
	// stopped since.
	today := time.Now().In(engine.Shanghai)
	day := func(daysAgo int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()-daysAgo, 0, 0, 0, 0, engine.Shanghai)
	}
	st, err := store.Open(t.Context(), dbDSN, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Migrate(t.Context()))
	reg, err := registry.Load(regFile)
	require.NoError(t, err)
	set, rerrs := loadRules(event.Builtin(), "")
	require.Empty(t, rerrs)
	b := report.New(report.Options{History: st, Registry: func() *engine.Registry { return reg },
		Rules: func() *rules.Set { return set }, Location: engine.Shanghai})
	spec := report.Spec{Kind: report.KindDaily, Scope: report.Scope{District: "南湖区"}, From: day(3), To: day(2)}
	out, err := b.Generate(t.Context(), spec)
	require.NoError(t, err)
	key := report.RunKey("district-daily", spec)
	require.NoError(t, report.NewStorage(st).ArchiveReport(t.Context(),
		report.NewEntry(report.IDForKey(key), out, "district-daily", key, "南湖区"), out))

	// Instances of one installation share the visitor key.
	keyFile := filepath.Join(dir, "visitor.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("5a", 32)+"\n"), 0o600))
	args := func(name string) []string {
		return []string{"--config.file", cfgFile, "--kafka.embedded-listen-address", freeAddr(t), "--clickhouse.dsn", dbDSN,
			"--registry.file", regFile, "--data.dir", filepath.Join(dir, name), "--privacy.visitor-key-file", keyFile}
	}
	var wg sync.WaitGroup
	instances := make([]*instance, 2)
	for i := range instances {
		wg.Go(func() { instances[i] = serveInProcess(t, args(fmt.Sprintf("data-%d", i))...) })
	}
	wg.Wait()

	waitFor(t, 60*time.Second, "the two missed days mailed", func() bool { return len(sink.Received()) >= 2 })
	// Several checks of both instances later, nothing more.
	time.Sleep(4 * time.Second)
	mails := sink.Received()
	require.Len(t, mails, 2, "each missed day once")
	var subjects []string
	for _, raw := range mails {
		m := testsmtp.Read(t, raw)
		subjects = append(subjects, m.Subject)
		require.Len(t, m.Files, 2, "the HTML and the CSV (no PDF renderer): %v", slices.Collect(maps.Keys(m.Files)))
		for name, content := range m.Files {
			switch filepath.Ext(name) {
			case ".html":
				require.Contains(t, string(content), "南湖区校园安全日报")
				require.NotContains(t, string(content), "秀洲区", "a school outside the district")
			case ".csv":
				require.True(t, bytes.HasPrefix(content, []byte("\ufeff")), "a byte-order mark")
			default:
				t.Fatalf("unexpected attachment %s", name)
			}
		}
	}
	slices.Sort(subjects)
	require.Equal(t, []string{
		"【排查报告】" + dailyTitle(day(2)), "【排查报告】" + dailyTitle(day(1)),
	}, subjects)

	var list struct {
		Reports []struct {
			From     string `json:"from"`
			Schedule string `json:"schedule"`
		} `json:"reports"`
	}
	require.Equal(t, http.StatusOK, instances[0].getJSON("/api/v1/reports?district=南湖区", &list))
	var days []string
	for _, r := range list.Reports {
		require.Equal(t, "district-daily", r.Schedule)
		days = append(days, r.From)
	}
	require.Equal(t, []string{day(1).Format(time.DateOnly), day(2).Format(time.DateOnly), day(3).Format(time.DateOnly)}, days,
		"the archive holds each day once, newest first")

	// Both stop; the next instance finds nothing missing.
	for _, in := range instances {
		in.stop()
	}
	third := serveInProcess(t, args("data-3")...)
	time.Sleep(4 * time.Second)
	require.Len(t, sink.Received(), 2, "nothing made or mailed again after a restart")
	require.Equal(t, http.StatusOK, third.getJSON("/api/v1/reports?district=南湖区", &list))
	require.Len(t, list.Reports, 3)
}

// dailyTitle is a district daily report's title, as engine/report names it.
func dailyTitle(d time.Time) string {
	return fmt.Sprintf("南湖区校园安全日报（%d年%d月%d日）", d.Year(), int(d.Month()), d.Day())
}
