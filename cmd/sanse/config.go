package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/api"
	"github.com/sanse-campus/sanse/engine"
	"github.com/sanse-campus/sanse/engine/alert"
	"github.com/sanse-campus/sanse/engine/app"
	"github.com/sanse-campus/sanse/engine/auth"
	"github.com/sanse-campus/sanse/engine/event"
	"github.com/sanse-campus/sanse/engine/hazard"
	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/report"
	"github.com/sanse-campus/sanse/engine/store"
	"github.com/sanse-campus/sanse/rules"
)

// Config is the whole configuration of `sanse serve` and `sanse demo`: one
// YAML file (--config.file), overridden by SANSE_* environment variables,
// overridden by flags. docs/configuration.md documents every option.
type Config struct {
	DataDir    string           `yaml:"data_dir"`
	Web        WebConfig        `yaml:"web"`
	Kafka      KafkaConfig      `yaml:"kafka"`
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	Registry   RegistryConfig   `yaml:"registry"`
	// Sources adds event sources declared in files to the built-in ones.
	Sources SourcesConfig `yaml:"sources"`
	Rules   RulesConfig   `yaml:"rules"`
	Privacy PrivacyConfig `yaml:"privacy"`
	Log     LogConfig     `yaml:"log"`
	// Alerting configures alerts, their routing, escalation and delivery
	// (see docs/alerts.md).
	Alerting alert.Config  `yaml:"alerting"`
	Hazards  HazardsConfig `yaml:"hazards"`
	// Retention says how long the history keeps its rows (docs/security.md).
	Retention RetentionConfig `yaml:"retention"`
	// Map configures the warning map page (see docs/map.md).
	Map MapConfig `yaml:"map"`
	// Reports configures the scheduled inspection reports and their
	// delivery (see docs/reports.md).
	Reports report.Config `yaml:"reports"`
}

// MapConfig configures the warning map page.
type MapConfig struct {
	// BoundariesFile is a GeoJSON FeatureCollection of the district and
	// town outlines the map draws; empty uses the embedded county outlines
	// of the cities of 浙江省 that hold the registry's districts.
	BoundariesFile string `yaml:"boundaries_file"`
	// Refresh is how often, at most, an answer of the live map is built
	// again while the state keeps changing (api.Options.MapRefresh); no
	// answer is older than twice it.
	Refresh time.Duration `yaml:"refresh"`
}

// HazardsConfig configures the hazard workflow (docs/hazards.md).
type RetentionConfig struct {
	// Interval is how often old monthly partitions are dropped.
	Interval time.Duration `yaml:"interval"`
	// Tables maps each table of the history to how long its rows are kept;
	// 0 keeps them for ever.
	Tables map[string]time.Duration `yaml:"tables"`
}

// HazardsConfig configures the hazard workflow (docs/hazards.md).
type HazardsConfig struct {
	// CheckInterval is how often hazards past their deadline are looked
	// for and put under supervision.
	CheckInterval time.Duration `yaml:"check_interval"`
	// HighRiskResolveAboveSchool lets only an operator of the district or
	// above resolve a high risk that waits for a person.
	HighRiskResolveAboveSchool bool `yaml:"high_risk_resolve_above_school"`
}

// WebConfig configures the HTTP server. Its limits (history horizon,
// timeouts, rate limits, live streams) are api.Limits, under the same keys.
type WebConfig struct {
	ListenAddress string `yaml:"listen_address"`
	// TLSCertFile and TLSKeyFile, both or neither, make the server speak
	// HTTPS; SIGHUP reads them again.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// ExternalURL is the address people reach the server at; when set,
	// other Host headers are refused (DNS rebinding).
	ExternalURL string `yaml:"external_url"`
	// InsecureNoAuth turns authentication off: anyone who reaches the
	// port reads and does everything. For a closed test network only.
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// MetricsAuth requires an admin token for /metrics.
	MetricsAuth bool `yaml:"metrics_auth"`
	// TokenCacheTTL bounds how long a revoked token keeps working.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
	api.Limits    `yaml:",inline"`
}

// KafkaConfig configures the event source.
type KafkaConfig struct {
	Brokers []string     `yaml:"brokers"`
	GroupID string       `yaml:"group_id"`
	Topics  TopicsConfig `yaml:"topics"`
	// StateTopic is the compacted topic through which the instances of
	// the group show each other the schools they hold.
	StateTopic    string        `yaml:"state_topic"`
	BatchSize     int           `yaml:"batch_size"`
	BatchInterval time.Duration `yaml:"batch_interval"`
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the
	// consumer group's timing: how soon a killed instance's partitions
	// move to the others.
	SessionTimeout    time.Duration  `yaml:"session_timeout"`
	HeartbeatInterval time.Duration  `yaml:"heartbeat_interval"`
	RebalanceTimeout  time.Duration  `yaml:"rebalance_timeout"`
	Embedded          EmbeddedConfig `yaml:"embedded"`
	// TLS and SASL are how the consumer reaches the cluster of Brokers.
	TLS  TLSClientConfig `yaml:"tls"`
	SASL SASLConfig      `yaml:"sasl"`
	sec  ingest.Security // built by check
	// Limits bound what an event may be; beyond them it is a dead letter.
	Limits event.Limits `yaml:"limits"`
}

// TopicsConfig names the topic of sources, each under the source's name,
// and the dead-letter topic under deadletter. A declared source left out
// reads the topic its declaration names; a name that no source declares is
// refused by check, once sources.dir is known.
type TopicsConfig struct {
	Sources    map[engine.Source]string
	DeadLetter string
}

// deadLetterKey is the key of the dead-letter topic among the sources.
const deadLetterKey = "deadletter"

// UnmarshalYAML decodes the mapping of source names (and deadletter) to
// topics over t, keeping the topics of the names it does not mention.
func (t *TopicsConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: kafka.topics: expected a mapping of source name → topic (and %s → topic)", n.Line, deadLetterKey)
	}
	if t.Sources == nil {
		t.Sources = map[engine.Source]string{}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return fmt.Errorf("line %d: kafka.topics.%s is given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		var topic string
		if v.Kind != yaml.ScalarNode || v.Decode(&topic) != nil {
			return fmt.Errorf("line %d: kafka.topics.%s: expected a topic name", v.Line, k.Value)
		}
		if k.Value == deadLetterKey {
			t.DeadLetter = topic
			continue
		}
		t.Sources[engine.Source(k.Value)] = topic
	}
	return nil
}

// MarshalYAML writes t as it is read.
func (t TopicsConfig) MarshalYAML() (any, error) {
	m := make(map[string]string, len(t.Sources)+1)
	for src, topic := range t.Sources {
		m[string(src)] = topic
	}
	m[deadLetterKey] = t.DeadLetter
	return m, nil
}

// SourcesConfig names the directory of event sources declared beyond the
// built-in ones.
type SourcesConfig struct {
	// Dir holds one YAML declaration per source (*.yaml, docs/events.md);
	// empty: the built-in sources only.
	Dir      string          `yaml:"dir"`
	contract *event.Contract // loaded by check
}

// EmbeddedConfig configures the in-process broker used when no brokers are set.
type EmbeddedConfig struct {
	ListenAddress string `yaml:"listen_address"`
	DataDir       string `yaml:"data_dir"`
	Partitions    int    `yaml:"partitions"`
	// Retention and RetentionBytes bound what it keeps of each partition;
	// a negative value means no bound.
	Retention      time.Duration `yaml:"retention"`
	RetentionBytes int64         `yaml:"retention_bytes"`
}

// ClickHouseConfig configures the history store.
type ClickHouseConfig struct {
	DSN string `yaml:"dsn"`
	// Username, Password (or the contents of PasswordFile) and TLS replace
	// what the DSN says of them.
	Username     string               `yaml:"username"`
	Password     notify.Secret        `yaml:"password"`
	PasswordFile string               `yaml:"password_file"`
	TLS          TLSClientConfig      `yaml:"tls"`
	conn         store.ConnectOptions // built by check
}

// RegistryConfig names the school registry file.
type RegistryConfig struct {
	File string `yaml:"file"`
}

// RulesConfig names the rule directory; empty means the embedded default pack.
type RulesConfig struct {
	Dir          string        `yaml:"dir"`
	PollInterval time.Duration `yaml:"poll_interval"` // 0 disables watching
}

// PrivacyConfig configures how personal data is protected.
type PrivacyConfig struct {
	VisitorKeyFile string `yaml:"visitor_key_file"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults that belong to the command rather than to a package.
const (
	defaultDataDir   = "data"
	defaultLogLevel  = "info"
	defaultLogFormat = "text"
)

// defaultConfig returns the configuration used where the file is silent:
// each package's own defaults, so that each value is written once.
// TestDocumentedDefaults holds docs/configuration.md to it.
func defaultConfig() Config {
	c := Config{
		DataDir: defaultDataDir,
		Web: WebConfig{ListenAddress: api.DefaultListenAddress, TokenCacheTTL: auth.DefaultCacheTTL,
			Limits: api.DefaultLimits()},
		Kafka: KafkaConfig{
			GroupID: ingest.DefaultGroupID, StateTopic: ingest.DefaultStateTopic,
			// The built-in sources' topics, as declared; a source declared
			// in sources.dir reads its own declared topic.
			Topics:         TopicsConfig{Sources: ingest.DefaultTopics(event.Builtin()), DeadLetter: ingest.DefaultDeadLetterTopic},
			BatchSize:      ingest.DefaultBatchSize,
			BatchInterval:  ingest.DefaultBatchInterval,
			SessionTimeout: ingest.DefaultSessionTimeout, HeartbeatInterval: ingest.DefaultHeartbeatInterval,
			RebalanceTimeout: ingest.DefaultRebalanceTimeout,
			Embedded: EmbeddedConfig{ListenAddress: ingest.DefaultBrokerAddress, Partitions: ingest.DefaultBrokerPartitions,
				Retention: ingest.DefaultBrokerRetention, RetentionBytes: ingest.DefaultBrokerRetentionBytes},
			Limits: event.DefaultLimits,
		},
		ClickHouse: ClickHouseConfig{DSN: store.DefaultDSN},
		Rules:      RulesConfig{PollInterval: rules.DefaultPollInterval},
		Log:        LogConfig{Level: defaultLogLevel, Format: defaultLogFormat},
		Hazards:    HazardsConfig{CheckInterval: hazard.DefaultCheckInterval},
		Map:        MapConfig{Refresh: api.DefaultMapRefresh},
		Retention:  RetentionConfig{Interval: app.DefaultRetentionInterval, Tables: maps.Clone(store.Retained)},
		Reports:    report.Config{}.WithDefaults(),
	}
	return c
}

// loadConfigFile decodes a YAML file strictly over cfg: unknown keys and
// wrong types are errors with the file and line.
func loadConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = unknownKey.ReplaceAllString(msg, "unknown key $1 (see docs/configuration.md)")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		return fmt.Errorf("config file %s: %s", path, msg)
	}
	return nil
}

// unknownKey matches yaml.v3's message for a key the Config does not have.
var unknownKey = regexp.MustCompile(`field (\S+) not found in type main\.\w+`)

// configFlags binds the flags that override the file. Each flag can also be
// set by an environment variable: SANSE_ and the flag name upper-cased with
// dots and dashes as underscores (--clickhouse.dsn → SANSE_CLICKHOUSE_DSN).
type configFlags struct {
	fs      *flag.FlagSet
	file    *string
	setters map[string]func(*Config, string) error
}

func newConfigFlags(fs *flag.FlagSet) *configFlags {
	cf := &configFlags{fs: fs, setters: map[string]func(*Config, string) error{}}
	cf.file = fs.String("config.file", "", "path of the YAML configuration file (optional; see docs/configuration.md)")
	str := func(name, usage string, set func(*Config, string)) {
		fs.String(name, "", usage)
		cf.setters[name] = func(c *Config, v string) error { set(c, v); return nil }
	}
	str("web.listen-address", "address of the map and API (default "+api.DefaultListenAddress+")", func(c *Config, v string) { c.Web.ListenAddress = v })
	str("web.tls-cert-file", "PEM certificate (chain) of the map and API; with --web.tls-key-file serves HTTPS, read again on SIGHUP", func(c *Config, v string) { c.Web.TLSCertFile = v })
	str("web.tls-key-file", "PEM private key of --web.tls-cert-file", func(c *Config, v string) { c.Web.TLSKeyFile = v })
	str("web.external-url", "address people reach the map at, e.g. https://sanse.example.org; other Host headers are refused", func(c *Config, v string) { c.Web.ExternalURL = v })
	boolean := func(name, usage string, set func(*Config, bool)) {
		fs.Var(&boolFlag{}, name, usage)
		cf.setters[name] = func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			set(c, b)
			return nil
		}
	}
	boolean("web.insecure-no-auth", "serve without authentication: anyone who reaches the port reads everything and may act (a closed test network only; logged as a warning at each start)", func(c *Config, b bool) { c.Web.InsecureNoAuth = b })
	boolean("web.metrics-auth", "require an admin token for /metrics", func(c *Config, b bool) { c.Web.MetricsAuth = b })
	str("kafka.brokers", "comma-separated brokers of the Kafka cluster; empty starts the embedded test broker (for the demo, tests and trying Sanse on one machine)", func(c *Config, v string) {
		c.Kafka.Brokers = splitList(v)
	})
	str("kafka.embedded-listen-address", "address of the embedded test broker, franz-go's kfake, started when --kafka.brokers is empty; for the demo, tests and trying Sanse on one machine, not for an installation (default "+ingest.DefaultBrokerAddress+")", func(c *Config, v string) { c.Kafka.Embedded.ListenAddress = v })
	str("kafka.embedded-data-dir", "directory where the embedded test broker keeps its data (default <data_dir>/kafka)", func(c *Config, v string) { c.Kafka.Embedded.DataDir = v })
	str("kafka.group-id", "consumer group id (default "+ingest.DefaultGroupID+")", func(c *Config, v string) { c.Kafka.GroupID = v })
	str("kafka.state-topic", "compacted topic through which the group's instances share the schools' state (default "+ingest.DefaultStateTopic+")", func(c *Config, v string) { c.Kafka.StateTopic = v })
	str("clickhouse.dsn", "ClickHouse DSN, native protocol (default "+store.DefaultDSN+")", func(c *Config, v string) { c.ClickHouse.DSN = v })
	cf.transportFlags(str)
	str("registry.file", "school registry, CSV or YAML", func(c *Config, v string) { c.Registry.File = v })
	str("privacy.visitor-key-file", "key of the visitors' ID-number hashes, the same for every instance (default DATA_DIR/visitor.key, created when missing)", func(c *Config, v string) { c.Privacy.VisitorKeyFile = v })
	str("sources.dir", "directory of event source declarations (*.yaml, see docs/events.md) added to the built-in sources; empty: the built-in sources only", func(c *Config, v string) { c.Sources.Dir = v })
	str("rules.dir", "directory of rule files; empty uses the embedded default pack", func(c *Config, v string) { c.Rules.Dir = v })
	fs.String("rules.poll-interval", "", "how often the rule directory is checked for changed files, e.g. 5s; 0 disables (default "+rules.DefaultPollInterval.String()+")")
	cf.setters["rules.poll-interval"] = func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 5s, or 0", v)
		}
		c.Rules.PollInterval = d
		return nil
	}
	str("data.dir", "directory for local state: embedded test broker data, visitor key (default "+defaultDataDir+")", func(c *Config, v string) { c.DataDir = v })
	str("map.boundaries-file", "GeoJSON of the district and town outlines the map draws (default: the embedded county outlines of the registry's cities of 浙江省)", func(c *Config, v string) { c.Map.BoundariesFile = v })
	str("log.level", "debug, info, warn or error (default "+defaultLogLevel+")", func(c *Config, v string) { c.Log.Level = v })
	str("log.format", "text or json (default "+defaultLogFormat+")", func(c *Config, v string) { c.Log.Format = v })
	return cf
}

// load builds the configuration: defaults, then the file, then the
// environment, then the flags given on the command line.
func (cf *configFlags) load() (Config, error) {
	cfg := defaultConfig()
	file := *cf.file
	if file == "" {
		file = os.Getenv("SANSE_CONFIG_FILE")
	}
	if file != "" {
		if err := loadConfigFile(file, &cfg); err != nil {
			return cfg, err
		}
	}
	given := map[string]string{}
	cf.fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	for name, set := range cf.setters {
		if v, ok := os.LookupEnv(envName(name)); ok {
			if err := set(&cfg, v); err != nil {
				return cfg, fmt.Errorf("%s: %w", envName(name), err)
			}
		}
	}
	for name, set := range cf.setters {
		if v, ok := given[name]; ok {
			if err := set(&cfg, v); err != nil {
				return cfg, fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	return cfg, cfg.check()
}

func envName(flagName string) string {
	return "SANSE_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(flagName))
}

// errRegistryRequired is returned when no school registry is configured.
var errRegistryRequired = errors.New("registry.file is required: the school registry (CSV or YAML), e.g. --registry.file testdata/registry/demo.csv")

// check fills derived defaults and reports every invalid option at once.
func (c *Config) check() error {
	var errs []error
	if c.Map.BoundariesFile != "" {
		if _, err := readBoundaries(c.Map.BoundariesFile); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Kafka.Embedded.DataDir == "" && c.DataDir != "" {
		c.Kafka.Embedded.DataDir = filepath.Join(c.DataDir, "kafka")
	}
	if c.Privacy.VisitorKeyFile == "" {
		c.Privacy.VisitorKeyFile = filepath.Join(c.DataDir, "visitor.key")
	}
	if c.Registry.File == "" {
		errs = append(errs, errRegistryRequired)
	}
	if c.ClickHouse.DSN == "" {
		errs = append(errs, errors.New("clickhouse.dsn is required"))
	}
	if c.Kafka.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("kafka.batch_size must be positive, got %d", c.Kafka.BatchSize))
	}
	if c.Kafka.BatchInterval <= 0 {
		errs = append(errs, fmt.Errorf("kafka.batch_interval must be positive, got %s", c.Kafka.BatchInterval))
	}
	switch {
	case c.Kafka.SessionTimeout < time.Second || c.Kafka.SessionTimeout > 30*time.Minute:
		errs = append(errs, fmt.Errorf("kafka.session_timeout must be from 1s to 30m (brokers accept 6s to 30m by default), got %s", c.Kafka.SessionTimeout))
	case c.Kafka.HeartbeatInterval <= 0 || c.Kafka.HeartbeatInterval >= c.Kafka.SessionTimeout:
		errs = append(errs, fmt.Errorf("kafka.heartbeat_interval must be positive and shorter than kafka.session_timeout (%s), a third of it at most is usual; got %s",
			c.Kafka.SessionTimeout, c.Kafka.HeartbeatInterval))
	}
	if c.Kafka.RebalanceTimeout < time.Second {
		errs = append(errs, fmt.Errorf("kafka.rebalance_timeout must be at least 1s, got %s", c.Kafka.RebalanceTimeout))
	}
	if c.Kafka.Embedded.Partitions <= 0 {
		errs = append(errs, fmt.Errorf("kafka.embedded.partitions must be positive, got %d", c.Kafka.Embedded.Partitions))
	}
	errs = append(errs, c.checkSources()...)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: expected debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: expected text or json", c.Log.Format))
	}
	if c.Web.ExternalURL != "" {
		if u, err := url.Parse(c.Web.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("web.external_url %q: expected an address such as https://sanse.example.org", c.Web.ExternalURL))
		}
	}
	if c.Web.TokenCacheTTL < 0 || c.Web.TokenCacheTTL > time.Minute {
		errs = append(errs, fmt.Errorf("web.token_cache_ttl must be from 0 to 1m (it bounds how long a revoked token keeps working), got %s", c.Web.TokenCacheTTL))
	}
	if c.Map.Refresh < time.Millisecond || c.Map.Refresh > time.Minute {
		errs = append(errs, fmt.Errorf("map.refresh must be from 1ms to 1m (the live map is at most twice it old), got %s", c.Map.Refresh))
	}
	if c.Hazards.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("hazards.check_interval must be positive, got %s", c.Hazards.CheckInterval))
	}
	if c.Retention.Interval <= 0 {
		errs = append(errs, fmt.Errorf("retention.interval must be positive, got %s", c.Retention.Interval))
	}
	for _, table := range slices.Sorted(maps.Keys(c.Retention.Tables)) {
		if _, ok := store.Retained[table]; !ok {
			errs = append(errs, fmt.Errorf("retention.tables: unknown table %q, expected one of %s", table, strings.Join(store.RetainedTables(), ", ")))
		}
	}
	if err := c.Alerting.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Reports.Validate(c.Alerting.Receivers); err != nil {
		errs = append(errs, err)
	}
	// Reports dropped sooner than the catch-up looks back would be made
	// again. Retention drops whole months, hence the month's margin.
	if age := c.Retention.Tables["reports"]; age > 0 && len(c.Reports.Schedules) > 0 {
		if reach := c.Reports.Reach() + 31*24*time.Hour; age < reach {
			errs = append(errs, fmt.Errorf("retention.tables.reports (%s) is shorter than the reports' catch-up reach: the schedules look back %s, so reports dropped sooner would be made again; keep them at least %s",
				age, c.Reports.Reach(), reach))
		}
	}
	errs = append(errs, c.checkTransport()...)
	return errors.Join(errs...)
}

// checkSources loads the source declarations of sources.dir over the
// built-in ones and checks the topics against them: every name under
// kafka.topics is a declared source, and no two sources, nor a source and
// the dead letters, share a topic.
func (c *Config) checkSources() []error {
	var errs []error
	contract, err := event.LoadContract(c.Sources.Dir)
	if err != nil {
		return append(errs, fmt.Errorf("sources.dir %s: %w", c.Sources.Dir, err))
	}
	c.Sources.contract = contract
	var declared []string
	for _, src := range contract.Names() {
		declared = append(declared, string(src))
	}
	for _, src := range slices.Sorted(maps.Keys(c.Kafka.Topics.Sources)) {
		switch {
		case contract.Source(src) == nil:
			errs = append(errs, fmt.Errorf("kafka.topics.%s: no source %q is declared; expected one of %s or %s (a source is declared by a file in sources.dir)",
				src, src, strings.Join(declared, ", "), deadLetterKey))
		case c.Kafka.Topics.Sources[src] == "":
			errs = append(errs, fmt.Errorf("kafka.topics.%s must not be empty", src))
		}
	}
	if c.Kafka.Topics.DeadLetter == "" {
		errs = append(errs, errors.New("kafka.topics.deadletter must not be empty"))
	}
	if len(errs) > 0 {
		return errs
	}
	used, topics := map[string]string{c.Kafka.Topics.DeadLetter: deadLetterKey}, c.topics()
	for _, src := range contract.Names() {
		t := topics[src]
		if other, dup := used[t]; dup {
			errs = append(errs, fmt.Errorf("kafka.topics.%s: topic %q is also the topic of %s", src, t, other))
		}
		used[t] = string(src)
	}
	return errs
}

// contract returns the declared sources, loaded by check; the built-in
// ones before.
func (c *Config) contract() *event.Contract {
	if c.Sources.contract == nil {
		return event.Builtin()
	}
	return c.Sources.contract
}

// topics returns the topic of each declared source: as configured under
// kafka.topics, else as its declaration names.
func (c *Config) topics() map[engine.Source]string {
	out := map[engine.Source]string{}
	for _, s := range c.contract().Sources() {
		out[s.Name] = s.Topic
		if t := c.Kafka.Topics.Sources[s.Name]; t != "" {
			out[s.Name] = t
		}
	}
	return out
}

// boolFlag is a flag that may be given without a value (--web.insecure-no-auth)
// and whose value the configuration reads as a string, like every flag.
type boolFlag struct{ v string }

func (b *boolFlag) String() string     { return b.v }
func (b *boolFlag) Set(v string) error { b.v = v; return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
