package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/rules"
)

// TestReloadRefusesBadRulesAndKeepsEvaluating copies the default pack to a
// directory, starts the engine on it, breaks a file with two mistakes and
// shows that the reload is refused with both located while events are still
// evaluated by the previous set; fixing the file is then picked up.
func TestReloadRefusesBadRulesAndKeepsEvaluating(t *testing.T) {
	dsn := clickhouseDSN(t)
	dbDSN, _ := testDatabase(t, dsn)
	dir := t.TempDir()
	ruleDir := filepath.Join(dir, "rules")
	require.NoError(t, os.MkdirAll(ruleDir, 0o755))
	require.NoError(t, fs.WalkDir(rules.Pack(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.yaml") {
			return err
		}
		b, err := fs.ReadFile(rules.Pack(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(ruleDir, p), b, 0o644)
	}))
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	broker := freeAddr(t)
	in := startSanse(t, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"), "--rules.dir", ruleDir, "--rules.poll-interval", "0")

	bad, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rules", "bad", "two_mistakes.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(ruleDir, "zz_bad.yaml"), bad, 0o644))

	resp := in.post("/-/reload", "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "zz_bad.yaml:5:17")
	require.Contains(t, string(body), "zz_bad.yaml:10:25")

	var status struct {
		LastReload struct {
			Success bool     `json:"success"`
			Errors  []string `json:"errors"`
		} `json:"last_reload"`
		Rules []struct {
			ID string `json:"id"`
		} `json:"rules"`
	}
	require.Equal(t, 200, in.getJSON("/api/v1/rules", &status))
	require.False(t, status.LastReload.Success)
	require.Len(t, status.LastReload.Errors, 2)
	require.NotEmpty(t, status.Rules)

	// The previous set still evaluates events.
	w := &kafka.Writer{Addr: kafka.TCP(broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ev := fmt.Sprintf(`{"id":"reload-1","school_id":"E-03","source":"visitor","type":"entry","occurred_at":%q,"visitor_id":"330402198001011234","id_verified":true,"watchlist":"blacklist","gate":"东门"}`,
		time.Now().Format(time.RFC3339))
	require.NoError(t, w.WriteMessages(t.Context(), kafka.Message{Topic: "campus.visitor", Key: []byte("E-03"), Value: []byte(ev)}))
	waitFor(t, 10*time.Second, "E-03 red under the previous rule set", func() bool {
		var d struct {
			Level string `json:"level"`
		}
		in.getJSON("/api/v1/schools/E-03", &d)
		return d.Level == "red"
	})

	// Fixing the file and sending SIGHUP reloads the set, and the registry:
	// a school added to the file appears on the map, and one in 临平区 brings
	// the outlines of 杭州市 beside those of 嘉兴市.
	outlines := func() (names []string) {
		var fc struct {
			Features []struct {
				Properties struct{ Name string } `json:"properties"`
			} `json:"features"`
		}
		require.Equal(t, http.StatusOK, in.getJSON("/api/v1/boundaries", &fc))
		for _, f := range fc.Features {
			names = append(names, f.Properties.Name)
		}
		return names
	}
	require.Contains(t, outlines(), "南湖区")
	require.NotContains(t, outlines(), "余杭区")
	require.NoError(t, os.Remove(filepath.Join(ruleDir, "zz_bad.yaml")))
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry+"E-07,嘉善县第三小学,嘉善县,惠民街道,primary,120.90,30.85,false,true\n"+
		"E-08,临平区实验小学,临平区,临平街道,primary,120.2995,30.4182,false,true\n"), 0o644))
	require.NoError(t, in.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 10*time.Second, "a successful reload", func() bool {
		in.getJSON("/api/v1/rules", &status)
		return status.LastReload.Success
	})
	waitFor(t, 10*time.Second, "the added school on the map", func() bool {
		var d map[string]any
		return in.getJSON("/api/v1/schools/E-07", &d) == http.StatusOK
	})
	waitFor(t, 10*time.Second, "the outlines of 杭州市 and 嘉兴市", func() bool {
		names := outlines()
		return slices.Contains(names, "余杭区") && slices.Contains(names, "南湖区")
	})
	require.NotContains(t, in.log.String(), "outside their district's outline")
}
