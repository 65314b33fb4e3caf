package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Settings `sanse serve` gives the embedded broker unless configured
// otherwise (kafka.embedded in docs/configuration.md). BrokerOptions' own
// zero values differ, for tests: a free port and one partition.
const (
	// DefaultBrokerAddress is Kafka's usual port on the loopback interface,
	// where kcat and other local clients look first.
	DefaultBrokerAddress = "127.0.0.1:9092"
	// DefaultBrokerPartitions is the partition count of each topic the
	// broker creates: enough to spread a demo's load over partitions the way
	// a cluster would.
	DefaultBrokerPartitions = 4
	// DefaultBrokerRetention and DefaultBrokerRetentionBytes bound what the
	// embedded broker keeps of each partition: a day, and 256 MiB, so that
	// a demo left running cannot fill the disk. What matters is stored in
	// ClickHouse once it is consumed.
	DefaultBrokerRetention      = 24 * time.Hour
	DefaultBrokerRetentionBytes = 256 << 20
)

// retentionCheck is how often the embedded broker drops what is past its
// retention.
const retentionCheck = time.Minute

// BrokerOptions configures the embedded broker.
type BrokerOptions struct {
	// ListenAddr is the TCP address the broker listens on, and the address
	// it advertises to clients in metadata responses; "" means 127.0.0.1
	// on a free port. An address with an unspecified host (":9092",
	// "0.0.0.0:9092") accepts connections from other hosts but advertises
	// that unspecified host, which only local clients can dial.
	ListenAddr string
	// DataDir is where the broker keeps its log segments, topics and
	// committed group offsets, so that they survive a restart; every
	// produce is synced to disk before it is acknowledged. "" keeps
	// everything in memory.
	DataDir string
	// Topics are created at start when they do not exist yet. Topics that
	// already exist (restored from DataDir) keep their partition count.
	Topics []string
	// Partitions is the partition count of the topics created at start;
	// values below 1 mean 1.
	Partitions int32
	// Retention is how long a partition keeps a record, and RetentionBytes
	// how many bytes of records it keeps at most; older records are dropped
	// every minute. Zero means DefaultBrokerRetention and
	// DefaultBrokerRetentionBytes; below zero, no limit.
	Retention      time.Duration
	RetentionBytes int64
	// TLS, when not nil, makes the broker accept TLS connections only,
	// with this server configuration (its certificate), for tests of the
	// consumer's TLS.
	TLS *tls.Config
	// SASLUsers, when not empty, makes the broker require SASL
	// authentication as one of them, for tests of the consumer's SASL.
	SASLUsers []SASLUser
}

// SASLUser is a user the embedded broker accepts, with one mechanism: PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512.
type SASLUser struct {
	Mechanism, Username, Password string
}

// Broker is a single-node Kafka-protocol broker running inside the process,
// for the demo and for tests. It speaks the Kafka wire protocol on TCP, so
// any Kafka client (kafka-go, kcat, librdkafka) can use it. It is not meant
// for production: it has no replication and keeps its indexes in memory.
type Broker struct {
	cluster *kfake.Cluster
	logger  *slog.Logger
	close   sync.Once
	stop    chan struct{}
	done    chan struct{}
}

// StartBroker starts the embedded broker and creates the missing topics of
// opts. It returns once the broker accepts connections.
func StartBroker(opts BrokerOptions, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "broker")
	addr := opts.ListenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	partitions := opts.Partitions
	if partitions < 1 {
		partitions = 1
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("sanse"),
		kfake.DefaultNumPartitions(int(partitions)),
		kfake.WithLogger(kfakeLogger{logger}),
		// kfake always asks for 127.0.0.1 and a port; the listener is
		// opened on the configured address instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, addr)
		}),
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir), kfake.SyncWrites())
	}
	// Broker-wide, so that topics restored from DataDir are bounded too.
	retention, retentionBytes := opts.Retention, opts.RetentionBytes
	if retention == 0 {
		retention = DefaultBrokerRetention
	}
	if retentionBytes == 0 {
		retentionBytes = DefaultBrokerRetentionBytes
	}
	kopts = append(kopts, kfake.BrokerConfigs(map[string]string{
		"log.retention.ms":    strconv.FormatInt(retentionMillis(retention), 10),
		"log.retention.bytes": strconv.FormatInt(max(retentionBytes, -1), 10),
	}))
	if opts.TLS != nil {
		kopts = append(kopts, kfake.TLS(opts.TLS))
	}
	if len(opts.SASLUsers) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
		for _, u := range opts.SASLUsers {
			// Superusers: the broker's ACLs are not enabled, and a
			// superuser is what kfake seeds its SASL users with.
			kopts = append(kopts, kfake.Superuser(strings.ToUpper(u.Mechanism), u.Username, u.Password))
		}
	}
	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", addr, err)
	}
	b := &Broker{cluster: cluster, logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
	for _, t := range opts.Topics {
		if cluster.TopicInfo(t) != nil {
			continue
		}
		if err := cluster.CreateTopic(t, partitions, nil); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			cluster.Close()
			return nil, fmt.Errorf("create topic %q on the embedded broker: %w", t, err)
		}
	}
	go b.enforceRetention()
	logger.Info("embedded broker started", "addrs", b.Addrs(), "data_dir", opts.DataDir,
		"retention", retention, "retention_bytes", retentionBytes, "tls", opts.TLS != nil, "sasl", len(opts.SASLUsers) > 0)
	return b, nil
}

// retentionMillis returns retention as the broker's retention.ms: -1 (no
// limit) for any negative duration, including those shorter than a
// millisecond, which would otherwise round to 0 and drop every record.
func retentionMillis(retention time.Duration) int64 {
	if retention < 0 {
		return -1
	}
	return retention.Milliseconds()
}

// enforceRetention drops what is past the retention every retentionCheck
// until Close.
func (b *Broker) enforceRetention() {
	defer close(b.done)
	t := time.NewTicker(retentionCheck)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.cluster.ApplyRetention()
		}
	}
}

// Addrs returns the host:port addresses the broker listens on, for
// clients' bootstrap lists.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker. With a DataDir, it first writes its state so that
// the next start resumes from it. Close is safe to call more than once.
func (b *Broker) Close() {
	b.close.Do(func() {
		close(b.stop)
		<-b.done
		b.cluster.Close()
		b.logger.Info("embedded broker stopped")
	})
}

// kfakeLogger adapts slog to kfake's logger. kfake's info messages are
// details of single connections and group members, so they go to slog's
// debug level with its debug messages.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	case kfake.LogLevelInfo, kfake.LogLevelDebug:
		lv = slog.LevelDebug
	default:
		return
	}
	ctx := context.Background()
	if !k.l.Enabled(ctx, lv) {
		return
	}
	k.l.Log(ctx, lv, fmt.Sprintf(msg, args...))
}
