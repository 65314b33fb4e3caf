package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// shuttleSource is a district's own source, declared as data: no Go code
// knows it.
const shuttleSource = `source: shuttle
topic: district.shuttle
title: {zh: 接驳车, en: Shuttles}
types:
  position: {fields: {bus_id: {type: string, required: true}, speed_kmh: {type: number, required: true},
                      off_route_m: {type: number}}}
  headcount: {fields: {bus_id: {type: string, required: true}, boarded: {type: int}, alighted: {type: int},
                       escort_present: {type: bool}}}
  driver: {fields: {bus_id: {type: string, required: true}, driver_phone: {type: string, personal: mask}}}
`

// shuttleRules is the district's rule on it.
const shuttleRules = `rules:
  - id: shuttle.speeding
    source: shuttle
    type: position
    key: event.bus_id
    when: event.speed_kmh > 60
    level: high
    for: 2h
    title: '接驳车超速（${event.bus_id}，${event.speed_kmh} km/h）'
    provenance: 本地做法（测试用）
`

// TestDeclaredSourceEndToEnd declares a new source in a directory, starts
// the engine with a rule on it, produces its events with kcat and sees the
// school turn red, the event stored with its personal field masked, and a
// malformed one on the dead-letter topic with its reason.
func TestDeclaredSourceEndToEnd(t *testing.T) {
	dsn := clickhouseDSN(t)
	kcatPath(t)
	dbDSN, _ := testDatabase(t, dsn)
	db := lastPathElem(dbDSN)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	sources, rulesDir := filepath.Join(dir, "sources"), filepath.Join(dir, "rules")
	require.NoError(t, os.MkdirAll(sources, 0o755))
	require.NoError(t, os.MkdirAll(rulesDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sources, "shuttle.yaml"), []byte(shuttleSource), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(rulesDir, "shuttle.yaml"), []byte(shuttleRules), 0o644))
	broker := freeAddr(t)
	in := startSanse(t, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"),
		"--sources.dir", sources, "--rules.dir", rulesDir)

	level := func(school string) string {
		var detail struct {
			Level string `json:"level"`
		}
		in.getJSON("/api/v1/schools/"+school, &detail)
		return detail.Level
	}
	require.Equal(t, "green", level("E-01"))
	// A vendor platform's local time, without a zone: read in Asia/Shanghai.
	now := time.Now().In(shanghai(t)).Format("2006-01-02 15:04:05")
	produce := func(key, msg string) {
		kcat(t, []string{"-P", "-b", broker, "-t", "district.shuttle", "-K", "|"}, key+"|"+msg+"\n")
	}

	// Speeding: red.
	produce("E-01", fmt.Sprintf(`{"id":"sh-1","school_id":"E-01","source":"shuttle","type":"position","occurred_at":%q,"bus_id":"浙F-1234","speed_kmh":72.5}`, now))
	waitFor(t, 10*time.Second, "E-01 red for speeding", func() bool { return level("E-01") == "red" })
	var detail struct {
		ActiveRisks []struct {
			Rule  string `json:"rule"`
			Title string `json:"title"`
		} `json:"active_risks"`
	}
	in.getJSON("/api/v1/schools/E-01", &detail)
	require.Len(t, detail.ActiveRisks, 1)
	require.Equal(t, "shuttle.speeding", detail.ActiveRisks[0].Rule)
	require.Equal(t, "接驳车超速（浙F-1234，72.5 km/h）", detail.ActiveRisks[0].Title)

	// The driver's phone number is stored masked.
	produce("E-01", fmt.Sprintf(`{"id":"sh-2","school_id":"E-01","source":"shuttle","type":"driver","occurred_at":%q,"bus_id":"浙F-1234","driver_phone":"13912345678"}`, now))
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	var out []byte
	waitFor(t, 10*time.Second, "the driver event in ClickHouse", func() bool {
		out, err = exec.Command("clickhouse-client", "--port", u.Port(), "-q",
			fmt.Sprintf("SELECT source, type, payload FROM %s.events FINAL WHERE id = 'sh-2' FORMAT TSV", db)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return len(out) > 0
	})
	require.Contains(t, string(out), "shuttle\tdriver\t")
	require.Contains(t, string(out), `"driver_phone":"1391***5678"`)
	require.NotContains(t, string(out), "13912345678")

	// A position without its speed goes to the dead-letter topic, with the
	// reason and the field.
	produce("E-02", fmt.Sprintf(`{"id":"sh-3","school_id":"E-02","source":"shuttle","type":"position","occurred_at":%q,"bus_id":"浙F-9"}`, now))
	var dlq string
	waitFor(t, 10*time.Second, "the dead letter", func() bool {
		dlq = kcat(t, []string{"-C", "-b", broker, "-t", "campus.deadletter", "-o", "beginning", "-e", "-q", "-f", "%h\t%s\n"}, "")
		return strings.Contains(dlq, "sh-3")
	})
	require.Contains(t, dlq, "sanse-reason=missing_field")
	require.Contains(t, dlq, "speed_kmh: required for shuttle position")
	require.Contains(t, dlq, "sanse-topic=district.shuttle")
	require.Equal(t, "green", level("E-02"))
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}
