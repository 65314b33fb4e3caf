package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/ingest"
)

// kcatPath returns the path of kcat, skipping the test when it is missing,
// except under CI, where it must be installed (Debian package kcat).
func kcatPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("kcat integration test skipped with -short")
	}
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("kcat is required under CI (Debian package kcat): %v", err)
		}
		t.Skip("kcat is not on PATH; install the Debian package kcat to run this test")
	}
	return path
}

func kcat(t *testing.T, path string, stdin []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "kcat %s: %s", strings.Join(args, " "), stderr.String())
	return out
}

// TestKcatProducesToPipeline produces with kcat, a librdkafka client, and
// reads the dead letters back with it.
func TestKcatProducesToPipeline(t *testing.T) {
	path := kcatPath(t)
	b := startBroker(t, ingest.BrokerOptions{})
	addr := b.Addrs()[0]
	reg := testRegistry(t)
	store := &fakeStore{}
	now := time.Now()

	// Cut short: not JSON, so a dead letter, which is redacted.
	bad := `{"id":"kc-bad","visitor_id":"440306199003074513","note":"13912345678"`
	redacted := `{"id":"kc-bad","visitor_id":"4403**********4513","note":"139****5678"`
	var in bytes.Buffer
	for _, line := range [][]byte{
		canteenViolation("kc-1", "s1", now),
		canteenViolation("kc-2", "s2", now),
		[]byte(bad),
		canteenViolation("kc-3", "s3", now),
	} {
		in.WriteString("s1|")
		in.Write(line)
		in.WriteByte('\n')
	}
	kcat(t, path, in.Bytes(), "-b", addr, "-P", "-t", topicCanteen, "-K", "|", "-H", "producer=kcat")

	startConsumer(t, ingest.Options{Brokers: []string{addr}, Decoder: newDecoder(t, reg), Engine: newEngine(reg), Store: store})
	require.Eventually(t, func() bool { return len(store.events()) == 3 }, wait, 10*time.Millisecond)
	require.Equal(t, []string{"kc-1", "kc-2", "kc-3"}, store.events())
	require.Eventually(t, func() bool { return committedTotal(t, addr, ingest.DefaultGroupID, topicCanteen) == 4 }, wait, 10*time.Millisecond)

	out := kcat(t, path, nil, "-b", addr, "-C", "-t", topicDead, "-o", "beginning", "-e", "-J", "-q")
	type envelope struct {
		Key     string `json:"key"`
		Payload string `json:"payload"`
		// kcat 1.7 writes headers as a flat list: name, value, name, value …
		Headers []string `json:"headers"`
	}
	var dead []envelope
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m envelope
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "kcat output %s", sc.Text())
		dead = append(dead, m)
	}
	require.NoError(t, sc.Err())
	require.Len(t, dead, 1)
	require.Equal(t, "s1", dead[0].Key)
	require.Equal(t, redacted, dead[0].Payload)
	headers := map[string]string{}
	for i := 0; i+1 < len(dead[0].Headers); i += 2 {
		headers[dead[0].Headers[i]] = dead[0].Headers[i+1]
	}
	require.Equal(t, string(event.ReasonNotJSON), headers[ingest.HeaderReason])
	require.Equal(t, topicCanteen, headers[ingest.HeaderTopic])
	require.Equal(t, "0", headers[ingest.HeaderPartition])
	require.Equal(t, "2", headers[ingest.HeaderOffset])
	require.Equal(t, "kcat", headers["producer"], "the producer's headers are kept")
}

// TestKcatMurmur2MatchesPartitionOf produces keyed messages with kcat
// (librdkafka) set as docs/scale.md tells producers, and checks that each
// lands on the partition Sanse expects of its school.
func TestKcatMurmur2MatchesPartitionOf(t *testing.T) {
	path := kcatPath(t)
	b := startBroker(t, ingest.BrokerOptions{Partitions: 6})
	addr := b.Addrs()[0]
	var in bytes.Buffer
	ids := []string{"330402001", "330402017", "E-01", "E-02", "E-03", "Z-0001", "Z-0420", "Z-19999", "南湖一小"}
	for _, id := range ids {
		in.WriteString(id + "\t{}\n")
	}
	kcat(t, path, in.Bytes(), "-P", "-b", addr, "-t", topicDead, "-K", "\t", "-X", "topic.partitioner=murmur2_random")
	out := kcat(t, path, nil, "-C", "-b", addr, "-t", topicDead, "-o", "beginning", "-e", "-c", strconv.Itoa(len(ids)), "-f", "%k %p\n")
	got := map[string]int{}
	for line := range strings.Lines(string(out)) {
		k, p, ok := strings.Cut(strings.TrimSpace(line), " ")
		require.True(t, ok, line)
		got[k], _ = strconv.Atoi(p)
	}
	require.Len(t, got, len(ids))
	spread := map[int]bool{}
	for _, id := range ids {
		require.Equal(t, ingest.PartitionOf(id, 6), got[id], "partition of %s", id)
		spread[got[id]] = true
	}
	require.Greater(t, len(spread), 2, "the keys spread over the partitions")
}
