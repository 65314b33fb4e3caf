package deploy_test

import (
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// defaultStateTopic is the default of kafka.state_topic: the compacted topic
// every instance publishes its schools' state to and reads whole.
const defaultStateTopic = "sanse.state"

// kafkaTopicsTool is the path of kafka-topics.sh in the apache/kafka image.
const kafkaTopicsTool = "/opt/kafka/bin/kafka-topics.sh"

// composeService is the part of a compose service the tests read.
type composeService struct {
	Image       string            `yaml:"image"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// loadCompose returns the services of compose.yaml (YAML merge keys, which
// the file uses for what its services share, resolved).
func loadCompose(t *testing.T) map[string]composeService {
	t.Helper()
	var compose struct {
		Services map[string]composeService `yaml:"services"`
	}
	decodeFile(t, composeFile, &compose)
	require.NotEmpty(t, compose.Services)
	return compose.Services
}

// exampleKafka is the part of the example configuration's kafka section
// the compose tests read.
type exampleKafka struct {
	GroupID    string            `yaml:"group_id"`
	Topics     map[string]string `yaml:"topics"`
	StateTopic string            `yaml:"state_topic"`
}

func loadExampleKafka(t *testing.T) exampleKafka {
	t.Helper()
	var cfg struct {
		Kafka exampleKafka `yaml:"kafka"`
	}
	decodeFile(t, exampleConfig, &cfg)
	require.NotEmpty(t, cfg.Kafka.Topics)
	if cfg.Kafka.StateTopic == "" {
		cfg.Kafka.StateTopic = defaultStateTopic
	}
	return cfg.Kafka
}

// shellScript returns the script a service runs with `sh -c` (or bash) as
// the shell sees it: compose's "$$" is a literal "$". A lone "$" would be
// replaced by compose with a variable of the host's environment.
func shellScript(t *testing.T, name string, s composeService) string {
	t.Helper()
	require.Len(t, s.Entrypoint, 2, "%s: entrypoint %q is not a shell with one option", name, s.Entrypoint)
	require.Contains(t, []string{"-euc", "-ec", "-c"}, s.Entrypoint[1], "%s: entrypoint %q", name, s.Entrypoint)
	require.Len(t, s.Command, 1, "%s: the command is not one script", name)
	script := s.Command[0]
	require.NotContains(t, strings.ReplaceAll(script, "$$", ""), "$", "%s: a lone $ in the script is a compose variable; write $$", name)
	return strings.ReplaceAll(script, "$$", "$")
}

// topicCreation is one `kafka-topics.sh --create` of kafka-init.
type topicCreation struct {
	partitions, replicas string
	configs              map[string]string
}

// runKafkaInit runs kafka-init's script with bash, kafka-topics.sh replaced
// by a recorder, and returns the topics it creates.
func runKafkaInit(t *testing.T, s composeService) map[string]topicCreation {
	t.Helper()
	script := shellScript(t, "kafka-init", s)
	require.Contains(t, script, kafkaTopicsTool)
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash runs kafka-init's script")

	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	recorder := filepath.Join(dir, "kafka-topics.sh")
	// One line per call, the arguments separated by US (0x1f).
	require.NoError(t, os.WriteFile(recorder, []byte("#!/bin/sh\nprintf '%s\\037' \"$@\" >> \"$CALLS\"\necho >> \"$CALLS\"\n"), 0o700))
	cmd := exec.Command(bash, s.Entrypoint[1], strings.ReplaceAll(script, kafkaTopicsTool, recorder))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CALLS="+log)
	for k, v := range s.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kafka-init's script:\n%s", out)

	data, err := os.ReadFile(log)
	require.NoError(t, err, "kafka-init's script never ran kafka-topics.sh")
	created := map[string]topicCreation{}
	for line := range strings.Lines(string(data)) {
		args := strings.Split(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\x1f"), "\x1f")
		if !slices.Contains(args, "--create") {
			continue
		}
		var topic string
		c := topicCreation{configs: map[string]string{}}
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--topic":
				topic = args[i+1]
			case "--partitions":
				c.partitions = args[i+1]
			case "--replication-factor":
				c.replicas = args[i+1]
			case "--config":
				k, v, ok := strings.Cut(args[i+1], "=")
				require.True(t, ok, "--config %q", args[i+1])
				c.configs[k] = v
			}
		}
		require.NotEmpty(t, topic, "kafka-topics.sh %q creates no named topic", args)
		require.NotContains(t, created, topic, "kafka-init creates %s twice", topic)
		require.Contains(t, args, "--if-not-exists", "kafka-init's second run would fail on %s", topic)
		created[topic] = c
	}
	require.NotEmpty(t, created, "kafka-init creates no topic")
	return created
}

// csv splits a comma-separated setting.
func csv(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func TestCompose(t *testing.T) {
	services := loadCompose(t)
	kafka := loadExampleKafka(t)
	var cfg struct {
		Web struct {
			ListenAddress string `yaml:"listen_address"`
		} `yaml:"web"`
		Privacy struct {
			VisitorKeyFile string `yaml:"visitor_key_file"`
		} `yaml:"privacy"`
	}
	decodeFile(t, exampleConfig, &cfg)
	webPort := strconv.Itoa(listenPort(t, cfg.Web.ListenAddress))

	for _, name := range []string{"kafka-init", "clickhouse"} {
		require.Contains(t, services, name)
	}
	require.True(t, strings.HasPrefix(services["clickhouse"].Image, "clickhouse/clickhouse-server:"), "clickhouse image %s", services["clickhouse"].Image)

	// The Kafka nodes, and the Sanse instances: whatever runs `sanse serve`.
	var nodes, instances []string
	for name, s := range services {
		if strings.HasPrefix(s.Image, "apache/kafka:") && s.Environment["KAFKA_NODE_ID"] != "" {
			nodes = append(nodes, name)
		}
		if len(s.Command) > 0 && s.Command[0] == "serve" {
			instances = append(instances, name)
		}
	}
	slices.Sort(nodes)
	slices.Sort(instances)

	t.Run("kafka cluster", func(t *testing.T) {
		require.GreaterOrEqual(t, len(nodes), 3, "three Kafka nodes at least, for replication factor 3")
		first := services[nodes[0]].Environment
		ids := map[string]string{} // node id → service
		roles := map[string][]string{}
		var brokers []string
		for _, name := range nodes {
			env := services[name].Environment
			id := env["KAFKA_NODE_ID"]
			require.NotContains(t, ids, id, "%s and %s share KAFKA_NODE_ID %s", name, ids[id], id)
			ids[id] = name
			roles[id] = csv(env["KAFKA_PROCESS_ROLES"])
			if slices.Contains(roles[id], "broker") {
				brokers = append(brokers, name)
			}
			require.Equal(t, first["CLUSTER_ID"], env["CLUSTER_ID"], "%s: CLUSTER_ID", name)
			require.NotEmpty(t, env["CLUSTER_ID"], "%s: CLUSTER_ID", name)
			require.Equal(t, first["KAFKA_CONTROLLER_QUORUM_VOTERS"], env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "%s: every node names the same controllers", name)
			require.NotContains(t, env, "KAFKA_ZOOKEEPER_CONNECT", "%s: KRaft mode, no ZooKeeper", name)
			for key, want := range map[string]string{
				// New topics, the consumer groups' offsets and transactions
				// keep three copies and acknowledge a write once two hold it.
				"KAFKA_DEFAULT_REPLICATION_FACTOR":               "3",
				"KAFKA_MIN_INSYNC_REPLICAS":                      "2",
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "3",
				"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
				"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "2",
				"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                "false",
			} {
				require.Equal(t, want, env[key], "%s: %s", name, key)
			}
		}
		require.GreaterOrEqual(t, len(brokers), 3, "three brokers at least, for replication factor 3")

		// The controller quorum: an odd number of voters, at least three,
		// each a node of this file in the controller role.
		voters := csv(first["KAFKA_CONTROLLER_QUORUM_VOTERS"])
		require.GreaterOrEqual(t, len(voters), 3)
		require.Equal(t, 1, len(voters)%2, "an even quorum (%d voters) tolerates no more failures than one fewer", len(voters))
		for _, v := range voters {
			id, addr, ok := strings.Cut(v, "@")
			require.True(t, ok, "voter %q is not id@host:port", v)
			name, ok := ids[id]
			require.True(t, ok, "voter %s is no node of compose.yaml", v)
			require.Contains(t, roles[id], "controller", "voter %s (%s) is not a controller", v, name)
			host, _, err := net.SplitHostPort(addr)
			require.NoError(t, err, "voter %s", v)
			require.Equal(t, name, host, "voter %s: the host is not the service of node %s", v, id)
		}

		// Sanse's bootstrap list names brokers of this file, every one of
		// them, so that any one that answers introduces the others.
		for _, name := range instances {
			var hosts []string
			for _, b := range csv(services[name].Environment["SANSE_KAFKA_BROKERS"]) {
				host, _, err := net.SplitHostPort(b)
				require.NoError(t, err, "%s: SANSE_KAFKA_BROKERS %s", name, b)
				hosts = append(hosts, host)
			}
			slices.Sort(hosts)
			require.Equal(t, brokers, hosts, "%s: SANSE_KAFKA_BROKERS", name)
		}
	})

	t.Run("topics", func(t *testing.T) {
		created := runKafkaInit(t, services["kafka-init"])
		minISR := services[nodes[0]].Environment["KAFKA_MIN_INSYNC_REPLICAS"]
		var sourcePartitions []string
		for key, topic := range kafka.Topics {
			c, ok := created[topic]
			require.True(t, ok, "kafka-init does not create kafka.topics.%s (%s)", key, topic)
			require.NotEqual(t, "compact", c.configs["cleanup.policy"], "%s is compacted: events of a school would be dropped", topic)
			if key != "deadletter" {
				sourcePartitions = append(sourcePartitions, c.partitions)
			}
		}
		state, ok := created[kafka.StateTopic]
		require.True(t, ok, "kafka-init does not create the state topic %s", kafka.StateTopic)
		require.Equal(t, "compact", state.configs["cleanup.policy"], "%s is not compacted: it must keep the last state of every school, whatever its age", kafka.StateTopic)

		// Co-partitioned: partition p of every source topic holds the same
		// schools only when the counts are equal, and Sanse refuses to
		// start otherwise.
		slices.Sort(sourcePartitions)
		require.Len(t, slices.Compact(sourcePartitions), 1, "the source topics have different partition counts: %v", sourcePartitions)
		partitions, err := strconv.Atoi(sourcePartitions[0])
		require.NoError(t, err, "partition count %q", sourcePartitions[0])
		// The instances share the partitions evenly.
		require.NotEmpty(t, instances)
		require.Zero(t, partitions%len(instances), "%d partitions are not shared evenly by %d instances", partitions, len(instances))

		for topic, c := range created {
			require.Equal(t, "3", c.replicas, "%s: replication factor", topic)
			isr := minISR
			if v, ok := c.configs["min.insync.replicas"]; ok {
				isr = v
			}
			require.Equal(t, "2", isr, "%s: min.insync.replicas", topic)
		}
	})

	t.Run("sanse instances", func(t *testing.T) {
		require.Len(t, instances, 3)
		first := services[instances[0]]
		i := slices.Index(first.Command, "--config.file")
		require.True(t, i >= 0 && i+1 < len(first.Command), "command %q does not name --config.file", first.Command)
		// The example configuration, unchanged.
		require.Contains(t, first.Volumes, "./"+exampleConfig+":"+first.Command[i+1]+":ro")

		hostPorts := map[string]string{}
		for _, name := range instances {
			s := services[name]
			// One consumer group: the same file, command and environment
			// (SANSE_KAFKA_GROUP_ID or --kafka.group-id would override the
			// file's kafka.group_id).
			require.Equal(t, first.Image, s.Image, name)
			require.Equal(t, first.Command, s.Command, name)
			require.Equal(t, first.Environment, s.Environment, name)
			require.Equal(t, first.Volumes, s.Volumes, name)
			group := kafka.GroupID
			if g, ok := s.Environment["SANSE_KAFKA_GROUP_ID"]; ok {
				group = g
			}
			if j := slices.Index(s.Command, "--kafka.group-id"); j >= 0 && j+1 < len(s.Command) {
				group = s.Command[j+1]
			}
			require.NotEmpty(t, group, "%s: no consumer group", name)

			// Each its own host port, to the container's web port.
			require.Len(t, s.Ports, 1, "%s: ports", name)
			parts := strings.Split(s.Ports[0], ":")
			require.Equal(t, webPort, parts[len(parts)-1], "%s: %s does not publish web.listen_address", name, s.Ports[0])
			host := parts[len(parts)-2]
			require.NotContains(t, hostPorts, host, "%s and %s publish the same host port %s", name, hostPorts[host], host)
			hostPorts[host] = name

			// Healthy means ready.
			require.Contains(t, strings.Join(s.Healthcheck.Test, " "), "http://127.0.0.1:"+webPort+"/readyz", "%s: the health check is not /readyz", name)
			require.Equal(t, "service_completed_successfully", s.DependsOn["kafka-init"].Condition, "%s starts before the topics exist", name)
		}
		require.Contains(t, servedPaths(t), "/readyz")
	})

	t.Run("one visitor key", func(t *testing.T) {
		keyDir := path.Dir(cfg.Privacy.VisitorKeyFile)
		// volumeAt returns the named volume mounted at keyDir and whether
		// the mount is read-only.
		volumeAt := func(name string) (vol string, readOnly bool) {
			for _, v := range services[name].Volumes {
				parts := strings.Split(v, ":")
				if len(parts) >= 2 && parts[1] == keyDir {
					return parts[0], len(parts) == 3 && parts[2] == "ro"
				}
			}
			return "", false
		}
		vol, _ := volumeAt(instances[0])
		require.NotEmpty(t, vol, "%s mounts nothing at %s, which holds privacy.visitor_key_file", instances[0], keyDir)
		require.False(t, strings.HasPrefix(vol, ".") || strings.HasPrefix(vol, "/"), "%s: %s is not a named volume", instances[0], vol)
		for _, name := range instances {
			v, ro := volumeAt(name)
			require.Equal(t, vol, v, "%s: another volume at %s: another visitor key", name, keyDir)
			require.True(t, ro, "%s mounts %s writable: it could make a key of its own", name, keyDir)
		}

		// The key is made once, before the instances start, by a service
		// they wait for.
		var maker string
		for dep, d := range services[instances[0]].DependsOn {
			if v, ro := volumeAt(dep); v == vol && !ro {
				maker = dep
				require.Equal(t, "service_completed_successfully", d.Condition, "the instances do not wait for %s", dep)
			}
		}
		require.NotEmpty(t, maker, "no service the instances wait for writes the volume %s", vol)
		for _, name := range instances {
			require.Equal(t, "service_completed_successfully", services[name].DependsOn[maker].Condition, "%s does not wait for %s", name, maker)
		}

		// Its script makes a key the engine accepts, once: a second run
		// leaves it as it is.
		script := shellScript(t, maker, services[maker])
		dir := t.TempDir()
		script = strings.ReplaceAll(script, keyDir, dir)
		sh, err := exec.LookPath("sh")
		require.NoError(t, err)
		run := func() []byte {
			out, err := exec.Command(sh, services[maker].Entrypoint[1], script).CombinedOutput()
			require.NoError(t, err, "%s's script:\n%s", maker, out)
			key, err := os.ReadFile(filepath.Join(dir, path.Base(cfg.Privacy.VisitorKeyFile)))
			require.NoError(t, err, "%s made no %s", maker, path.Base(cfg.Privacy.VisitorKeyFile))
			return key
		}
		key := run()
		require.Regexp(t, `^[0-9a-f]+\n$`, string(key))
		require.GreaterOrEqual(t, len(strings.TrimSpace(string(key))), minVisitorKeyBytes)
		info, err := os.Stat(filepath.Join(dir, path.Base(cfg.Privacy.VisitorKeyFile)))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the key is readable by others")
		require.Equal(t, key, run(), "a second run of %s changed the key", maker)
	})
}
