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

// kcatPath returns kcat, which plays the independent producer; CI installs it.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed; .ci/run installs it")
		}
		t.Skip("kcat is not installed (apt-get install kcat)")
	}
	return p
}

func kcat(t *testing.T, args []string, stdin string) string {
	t.Helper()
	cmd := exec.Command(kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kcat %v: %s", args, out)
	return string(out)
}

// TestNewUserWithKcat does what a new user does: start `sanse serve` with its
// embedded broker, produce events with kcat against the documented contract,
// and read the result from the API, ClickHouse and the dead-letter topic.
func TestNewUserWithKcat(t *testing.T) {
	dsn := clickhouseDSN(t)
	kcatPath(t)
	dbDSN, _ := testDatabase(t, dsn)
	db := lastPathElem(dbDSN)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(e2eRegistry), 0o644))
	broker := freeAddr(t)
	in := startSanse(t, "--kafka.embedded-listen-address", broker, "--clickhouse.dsn", dbDSN,
		"--registry.file", reg, "--data.dir", filepath.Join(dir, "data"))

	level := func(school string) string {
		var fc struct {
			Features []struct {
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		in.getJSON("/api/v1/map", &fc)
		for _, f := range fc.Features {
			if f.Properties["school_id"] == school {
				return f.Properties["level"].(string)
			}
		}
		t.Fatalf("school %s not on the map", school)
		return ""
	}
	require.Equal(t, "green", level("E-02"))

	// A blacklisted visitor enters: the school is red on the map within 2 seconds.
	ev := fmt.Sprintf(`{"id":"kcat-1","school_id":"E-02","source":"visitor","type":"entry","occurred_at":%q,`+
		`"visitor_id":"330402198001011234","name":"张三","id_verified":true,"watchlist":"blacklist","gate":"东门"}`,
		time.Now().Format(time.RFC3339))
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.visitor", "-K", "|"}, "E-02|"+ev+"\n")
	sent := time.Now()
	waitFor(t, 2*time.Second, "E-02 red on the map", func() bool { return level("E-02") == "red" })
	t.Logf("red on the map %s after kcat returned", time.Since(sent).Round(time.Millisecond))

	var detail struct {
		Cause       string `json:"cause"`
		ActiveRisks []struct {
			Rule     string   `json:"rule"`
			Evidence []string `json:"evidence"`
		} `json:"active_risks"`
	}
	in.getJSON("/api/v1/schools/E-02", &detail)
	require.Contains(t, detail.Cause, "禁入名单人员进入校园（东门）")
	require.Len(t, detail.ActiveRisks, 1)
	require.Equal(t, []string{"kcat-1"}, detail.ActiveRisks[0].Evidence)

	// The event is in ClickHouse, as clickhouse-client sees it, without the ID-card number.
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	port := u.Port()
	var out []byte
	waitFor(t, 5*time.Second, "the event in ClickHouse", func() bool {
		out, err = exec.Command("clickhouse-client", "--port", port, "-q",
			fmt.Sprintf("SELECT school_id, type, payload FROM %s.events FINAL WHERE id = 'kcat-1' FORMAT TSV", db)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return len(out) > 0
	})
	require.Contains(t, string(out), "E-02\tentry\t")
	require.Contains(t, string(out), "3304**********1234")
	require.NotContains(t, string(out), "330402198001011234")

	// A message that is not JSON and an event for an unknown school go to the
	// dead-letter topic with the reason; the engine keeps going.
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.canteen", "-K", "|"}, "E-01|this is not json\n")
	bad := fmt.Sprintf(`{"id":"kcat-2","school_id":"NO-SUCH","source":"canteen","type":"ai_violation","occurred_at":%q,"violation":"rodent"}`, time.Now().Format(time.RFC3339))
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.canteen", "-K", "|"}, "NO-SUCH|"+bad+"\n")
	// A camera's rodent detection is pending a check (待核实, not red); the
	// vendor platform's disposition confirms it and the school turns red.
	good := fmt.Sprintf(`{"id":"kcat-3","school_id":"E-01","source":"canteen","type":"ai_violation","occurred_at":%q,"violation":"rodent","alarm_id":"MK-77"}`, time.Now().Format(time.RFC3339))
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.canteen", "-K", "|"}, "E-01|"+good+"\n")
	waitFor(t, 10*time.Second, "E-01's detection pending a check", func() bool {
		var d struct {
			ActiveRisks []struct {
				Pending bool `json:"pending"`
			} `json:"active_risks"`
		}
		in.getJSON("/api/v1/schools/E-01", &d)
		return len(d.ActiveRisks) == 1 && d.ActiveRisks[0].Pending
	})
	require.Equal(t, "green", level("E-01"))
	confirm := fmt.Sprintf(`{"id":"kcat-4","school_id":"E-01","source":"canteen","type":"disposition","occurred_at":%q,"alarm_id":"MK-77","state":"confirmed"}`, time.Now().Format(time.RFC3339))
	kcat(t, []string{"-P", "-b", broker, "-t", "campus.canteen", "-K", "|"}, "E-01|"+confirm+"\n")
	waitFor(t, 10*time.Second, "E-01 red once the detection is confirmed", func() bool { return level("E-01") == "red" })

	var dlq string
	waitFor(t, 10*time.Second, "two dead letters", func() bool {
		dlq = kcat(t, []string{"-C", "-b", broker, "-t", "campus.deadletter", "-o", "beginning", "-e", "-q", "-f", "%h\t%s\n"}, "")
		return strings.Count(dlq, "sanse-reason=") >= 2
	})
	require.Contains(t, dlq, "sanse-reason=not_json")
	require.Contains(t, dlq, "this is not json")
	require.Contains(t, dlq, "sanse-reason=unknown_school")
	require.Contains(t, dlq, "NO-SUCH")
	require.Contains(t, dlq, "sanse-topic=campus.canteen")
}
