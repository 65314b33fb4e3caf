package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

// clusterPartitions is the number of partitions of every topic of the
// several-instance test: enough for three instances to hold two each.
const clusterPartitions = 6

// clusterSchools returns a registry of n schools and their ids.
func clusterSchools(n int) (csv string, ids []string) {
	var b strings.Builder
	b.WriteString("id,name,district,town,stage,longitude,latitude,boarding,canteen\n")
	for i := range n {
		id := fmt.Sprintf("C-%02d", i+1)
		ids = append(ids, id)
		fmt.Fprintf(&b, "%s,南湖区第%d小学,南湖区,建设街道,primary,%.3f,30.75,false,false\n", id, i+1, 120.70+float64(i)*0.005)
	}
	return b.String(), ids
}

// clusterBroker starts a Kafka-protocol broker (kfake) whose topics have
// clusterPartitions partitions.
func clusterBroker(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(clusterPartitions, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// ownedRe finds the partitions an instance holds in its log.
var ownedRe = regexp.MustCompile(`consumer group generation started.* owned="?\[([0-9 ]*)\]`)

// owned returns the partitions the instance held in its last generation.
func (in *instance) owned() []int {
	m := ownedRe.FindAllStringSubmatch(in.log.String(), -1)
	if len(m) == 0 {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(m[len(m)-1][1]) {
		p, _ := strconv.Atoi(f)
		out = append(out, p)
	}
	return out
}

// storedOf counts the distinct events stored from the given partitions.
func storedOf(t *testing.T, conn clickhouse.Conn, db string, partitions []int) uint64 {
	t.Helper()
	list := make([]string, len(partitions))
	for i, p := range partitions {
		list[i] = strconv.Itoa(p)
	}
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT uniqExact(id) FROM "+db+".events WHERE kafka_partition IN ("+strings.Join(list, ",")+")").Scan(&n))
	return n
}

// clusterView is what an instance shows of every school: the map's colour
// and the school's detail (colour, since, active risks with their counts).
func clusterView(t *testing.T, in *instance) (colours map[string]string, details map[string]any) {
	t.Helper()
	o := readOutcome(t, in)
	colours = map[string]string{}
	for id, p := range o.Map {
		colours[id] = p.(map[string]any)["level"].(string)
	}
	return colours, o.Details
}

// TestSeveralInstances runs three instances in one consumer group over one
// broker and one ClickHouse, kills one with SIGKILL mid-stream and adds
// another, and compares what every instance shows with a single instance
// run over the same events: every event stored once, the same colours,
// active risks and counts on the map of every instance, and the killed
// instance's schools moving again within seconds.
func TestSeveralInstances(t *testing.T) {
	dsn := clickhouseDSN(t)
	registry, schools := clusterSchools(24)
	msgs := testEventsOf(6000, time.Now().Add(-10*time.Minute), schools)
	dir := t.TempDir()
	reg := filepath.Join(dir, "registry.csv")
	require.NoError(t, os.WriteFile(reg, []byte(registry), 0o644))
	// Every instance of an installation uses one visitor key.
	keyFile := filepath.Join(dir, "visitor.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("3c", 32)+"\n"), 0o600))
	argsOf := func(brokers []string, dbDSN, name string) []string {
		return []string{"--kafka.brokers", strings.Join(brokers, ","), "--clickhouse.dsn", dbDSN,
			"--registry.file", reg, "--data.dir", filepath.Join(dir, name), "--privacy.visitor-key-file", keyFile, "--log.level", "info"}
	}
	// The schools must spread over the partitions, or the test shows little.
	spread := map[int]bool{}
	for _, id := range schools {
		spread[partitionOfSchool(id)] = true
	}
	require.Len(t, spread, clusterPartitions, "every partition has schools")

	// A single instance over the events: what every instance must show.
	var wantColours map[string]string
	var wantDetails map[string]any
	{
		dbDSN, conn := testDatabase(t, dsn)
		db := lastPathElem(dbDSN)
		brokers := clusterBroker(t)
		in := startSanse(t, argsOf(brokers, dbDSN, "single")...)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		require.NoError(t, produce(ctx, brokers, msgs, 0))
		waitFor(t, 2*time.Minute, "every event stored by the single instance", func() bool { return countEvents(t, conn, db) == uint64(len(msgs)) })
		waitFor(t, time.Minute, "every message committed", func() bool { return committedTotal(t, brokers) == int64(len(msgs)) })
		wantColours, wantDetails = clusterView(t, in)
		in.stop()
	}
	levels := map[string]int{}
	for _, l := range wantColours {
		levels[l]++
	}
	require.Len(t, wantColours, len(schools))
	require.Positive(t, levels["red"]+levels["yellow"], "the events must make schools red or yellow: %v", levels)

	// Three instances in one group.
	dbDSN, conn := testDatabase(t, dsn)
	db := lastPathElem(dbDSN)
	brokers := clusterBroker(t)
	a := startSanse(t, argsOf(brokers, dbDSN, "a")...)
	require.NoError(t, conn.Exec(context.Background(), "SYSTEM STOP MERGES "+db+".events"))
	b := startSanse(t, argsOf(brokers, dbDSN, "b")...)
	c := startSanse(t, argsOf(brokers, dbDSN, "c")...)
	waitFor(t, time.Minute, "the partitions shared among the three", func() bool {
		oa, ob, oc := a.owned(), b.owned(), c.owned()
		all := slices.Concat(oa, ob, oc)
		slices.Sort(all)
		return len(oa) > 0 && len(ob) > 0 && len(oc) > 0 && slices.Equal(slices.Compact(all), []int{0, 1, 2, 3, 4, 5}) && len(all) == clusterPartitions
	})
	t.Logf("partitions: a %v, b %v, c %v", a.owned(), b.owned(), c.owned())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	produced := make(chan error, 1)
	go func() { produced <- produce(ctx, brokers, msgs, 250*time.Millisecond) }()
	waitFor(t, 2*time.Minute, "a quarter of the events stored", func() bool { return countEvents(t, conn, db) >= uint64(len(msgs)/4) })
	victim := b.owned()
	atKill := storedOf(t, conn, db, victim)
	b.kill()
	killed := time.Now()
	t.Logf("killed b holding partitions %v with %d of %d events stored (%d of its partitions)", victim, countEvents(t, conn, db), len(msgs), atKill)
	waitFor(t, time.Minute, "events of the killed instance's partitions stored again", func() bool {
		return storedOf(t, conn, db, victim) > atKill
	})
	recovered := time.Since(killed)
	t.Logf("the killed instance's partitions moved again %s after the kill", recovered.Round(100*time.Millisecond))
	require.Less(t, countEvents(t, conn, db), uint64(len(msgs)), "the stream must still run after the recovery")
	d := startSanse(t, argsOf(brokers, dbDSN, "d")...)
	require.NoError(t, <-produced)
	waitFor(t, 2*time.Minute, "every event stored", func() bool { return countEvents(t, conn, db) == uint64(len(msgs)) })
	waitFor(t, time.Minute, "every message committed", func() bool { return committedTotal(t, brokers) == int64(len(msgs)) })
	waitFor(t, time.Minute, "the new instance holding partitions", func() bool { return len(d.owned()) > 0 })
	rows, ids := storedRows(t, conn, db)
	require.Equal(t, uint64(len(msgs)), ids, "every event stored")
	require.Equal(t, ids, rows, "no event stored twice")

	// Every instance shows every school as the single instance did, once
	// the last states went round the state topic.
	for _, in := range []*instance{a, c, d} {
		var colours map[string]string
		var details map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for {
			colours, details = clusterView(t, in)
			if equalViews(colours, wantColours, details, wantDetails) || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		require.Equal(t, wantColours, colours, "colours on the map of %s", in.web)
		for _, id := range schools {
			require.Equal(t, wantDetails[id], details[id], "detail of %s on %s", id, in.web)
		}
	}

	// A person's act on a school is made by the instance that holds it;
	// another says which one does.
	var school, rule, key string
	for _, id := range schools {
		risks, _ := wantDetails[id].(map[string]any)["active_risks"].([]any)
		if len(risks) > 0 {
			r := risks[0].(map[string]any)
			school, rule = id, r["rule"].(string)
			key, _ = r["key"].(string)
			break
		}
	}
	require.NotEmpty(t, school, "a school with an active risk")
	var holder, other *instance
	for _, in := range []*instance{a, c, d} {
		if slices.Contains(in.owned(), partitionOfSchool(school)) {
			holder = in
		} else {
			other = in
		}
	}
	require.NotNil(t, holder)
	require.NotNil(t, other)
	body := fmt.Sprintf(`{"rule":%q,"key":%q,"by":"王科长","comment":"已现场核查处置"}`, rule, key)
	resolve := func(in *instance) (int, string) {
		resp := in.post("/api/v1/schools/"+school+"/risks/resolve", "application/json", strings.NewReader(body))
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, answer := resolve(other)
	require.Equal(t, http.StatusConflict, code, answer)
	require.Contains(t, answer, "held by another instance")
	code, answer = resolve(holder)
	require.Equal(t, http.StatusOK, code, answer)

	require.Less(t, recovered, 10*time.Second, "the killed instance's schools must move again within 10 s")
}

func equalViews(colours, wantColours map[string]string, details, wantDetails map[string]any) bool {
	if fmt.Sprint(colours) != fmt.Sprint(wantColours) {
		return false
	}
	return fmt.Sprint(details) == fmt.Sprint(wantDetails)
}

// partitionOfSchool is the partition of a school's messages with Kafka's
// default partitioner, as produce writes them.
func partitionOfSchool(id string) int {
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(id)}, 0, 1, 2, 3, 4, 5)
}
