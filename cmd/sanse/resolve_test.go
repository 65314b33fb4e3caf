package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// TestResolvedRiskStaysResolvedAfterRestart: a blacklisted visitor keeps the
// school red until a person resolves the risk; the resolution is stored by
// the time the API answers, and a restart that replays the stored events
// does not bring the risk back.
//
// It runs in-process: what it shows is the engine's, not the process's.
// The resolution is read from ClickHouse as soon as the answer comes, so
// nothing a graceful stop does can be what keeps it.
func TestResolvedRiskStaysResolvedAfterRestart(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, conn := testDatabase(t, dsn)
	db := lastPathElem(dbDSN)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	broker := freeAddr(t)
	args := []string{"--kafka.embedded-listen-address", broker, "--kafka.embedded-data-dir", filepath.Join(dir, "kafka"),
		"--clickhouse.dsn", dbDSN, "--registry.file", reg, "--data.dir", filepath.Join(dir, "data")}
	in := serveInProcess(t, args...)

	w := &kafka.Writer{Addr: kafka.TCP(broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	at := time.Now().Add(-time.Minute)
	for i, school := range []string{"E-04", "E-05"} {
		ev := fmt.Sprintf(`{"id":"res-%d","school_id":%q,"source":"visitor","type":"entry","occurred_at":%q,"visitor_id":"330402198001011234","id_verified":true,"watchlist":"blacklist","gate":"东门"}`,
			i, school, at.Format(time.RFC3339))
		require.NoError(t, w.WriteMessages(t.Context(), kafka.Message{Topic: "campus.visitor", Key: []byte(school), Value: []byte(ev)}))
	}
	w.Close()
	level := func(in *instance, school string) string {
		var d struct {
			Level string `json:"level"`
		}
		in.getJSON("/api/v1/schools/"+school, &d)
		return d.Level
	}
	waitFor(t, 10*time.Second, "both schools red", func() bool { return level(in, "E-04") == "red" && level(in, "E-05") == "red" })

	post := func(body string) (int, string) {
		resp := in.post("/api/v1/schools/E-04/risks/resolve", "application/json", bytes.NewBufferString(body))
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	code, body := post(`{"rule":"visitor.watchlist_entry","by":"王科长"}`)
	require.Equal(t, http.StatusBadRequest, code, "a resolution without a comment is refused: %s", body)
	require.Contains(t, body, "comment")
	code, body = post(`{"rule":"visitor.watchlist_entry","by":"王科长","comment":"已由保卫处带离并报警"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"level":"green"`)
	require.Contains(t, body, "已人工处置解除")
	var resolved uint64
	require.NoError(t, conn.QueryRow(t.Context(), fmt.Sprintf(
		"SELECT count() FROM %s.risk_transitions FINAL WHERE school_id = 'E-04' AND state = 'resolved' AND actor = '%s'", db, testTokenName)).Scan(&resolved))
	require.Equal(t, uint64(1), resolved, "the resolution is stored when the API answers, by the token's name, not the body's by")

	// Restart: E-04 stays green, E-05 (never resolved) is red again.
	in.stop()
	in = serveInProcess(t, args...)
	if level(in, "E-04") != "green" {
		t.Log(in.log.String())
	}
	require.Equal(t, "green", level(in, "E-04"))
	require.Equal(t, "red", level(in, "E-05"))
	code, _ = post(`{"rule":"visitor.watchlist_entry","by":"王科长","comment":"again"}`)
	require.Equal(t, http.StatusNotFound, code, "nothing left to resolve")
}
