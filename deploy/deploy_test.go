// Package deploy_test validates the deployment files of deploy/, which no
// test can run here (there is no Docker engine, Kubernetes cluster or
// ClickHouse cluster): every YAML file parses; the Kubernetes objects are
// well formed and agree with each other, with the configuration they mount
// and with the endpoints the server serves; the example configurations are
// accepted by the real binary and hold every documented key; the cluster
// schema has exactly the columns of the single-node schema; compose runs a
// replicated Kafka cluster with co-partitioned topics and several instances
// of one consumer group; compose and the Dockerfile agree with the
// configuration.
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// Paths, relative to deploy/, the working directory of this test.
const (
	repoRoot          = ".."
	exampleConfig     = "sanse.example.yaml"
	composeFile       = "compose.yaml"
	dockerfile        = "Dockerfile"
	kubernetesDir     = "kubernetes"
	kustomizationFile = "kubernetes/kustomization.yaml"
	clusterSchemaDir  = "clickhouse/cluster"
	configDoc         = "../docs/configuration.md"
	migrationsDir     = "../engine/store/migrations"
	apiDir            = "../api"
)

// minVisitorKeyBytes is the shortest visitor key the engine accepts
// (event.NewIdentity).
const minVisitorKeyBytes = 16

// decodeAll decodes every document of a YAML file.
func decodeAll(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "%s: document %d", file, len(docs)+1)
		docs = append(docs, &n)
	}
	return docs
}

// decodeFile decodes the one document of a YAML file into v, not strictly.
func decodeFile(t *testing.T, file string, v any) {
	t.Helper()
	docs := decodeAll(t, file)
	require.Len(t, docs, 1, "%s: expected one YAML document", file)
	require.NoError(t, docs[0].Decode(v), file)
}

// listenPort returns the port of a listen address such as ":8080".
func listenPort(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, "listen address %q", addr)
	n, err := strconv.Atoi(port)
	require.NoError(t, err, "listen address %q", addr)
	return n
}

// routeGET matches a route the API registers: e.GET("/path", ...).
var routeGET = regexp.MustCompile(`\.GET\("(/[^"]*)"`)

// servedPaths returns the paths of the GET routes the API registers with a
// literal path, read from the source of package api.
func servedPaths(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(apiDir, "*.go"))
	require.NoError(t, err)
	var paths []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range routeGET.FindAllSubmatch(data, -1) {
			paths = append(paths, string(m[1]))
		}
	}
	require.NotEmpty(t, paths, "no GET route found in %s", apiDir)
	return paths
}

func TestYAMLFilesParse(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			docs := decodeAll(t, f)
			require.NotEmpty(t, docs, "%s holds no YAML document", f)
			for i, d := range docs {
				require.NotEmpty(t, d.Content, "%s: document %d is empty", f, i+1)
			}
		})
	}
}

// keyPaths returns the dotted paths of every key of a YAML mapping, nested
// mappings included (kafka, kafka.topics, kafka.topics.visitor, ...).
func keyPaths(n *yaml.Node) []string {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	var out []string
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := prefix + n.Content[i].Value
			out = append(out, p)
			if !dataMaps[p] {
				walk(p+".", n.Content[i+1])
			}
		}
	}
	walk("", n)
	sort.Strings(out)
	return out
}

// dataMaps are the options whose keys are data (school ids, districts),
// not option names: keyPaths does not look inside them.
var dataMaps = map[string]bool{
	"alerting.contacts.schools":   true,
	"alerting.contacts.towns":     true,
	"alerting.contacts.districts": true,
}

var yamlFence = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// documentedKeys returns the key paths of the configuration reference in
// docs/configuration.md: its first YAML block.
func documentedKeys(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	require.NoError(t, err)
	m := yamlFence.FindSubmatch(data)
	require.NotNil(t, m, "%s has no yaml block", configDoc)
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal(m[1], &n), "%s: yaml block", configDoc)
	keys := keyPaths(&n)
	require.NotEmpty(t, keys)
	return keys
}

// configFiles are the full configurations deploy/ ships, each with a
// registry to check it with: the registry file the configuration names
// exists only where it is deployed.
var configFiles = []struct {
	name     string
	file     string
	registry string
}{
	{name: "example", file: exampleConfig, registry: "../testdata/registry/demo.csv"},
	{name: "kubernetes", file: "kubernetes/config/sanse.yaml", registry: "kubernetes/config/schools.csv"},
}

func TestConfigHoldsEveryDocumentedKey(t *testing.T) {
	documented := documentedKeys(t)
	for _, tc := range configFiles {
		t.Run(tc.name, func(t *testing.T) {
			docs := decodeAll(t, tc.file)
			require.Len(t, docs, 1)
			got := keyPaths(docs[0])
			for _, k := range documented {
				require.Contains(t, got, k, "%s lacks the documented key %s", tc.file, k)
			}
			for _, k := range got {
				require.Contains(t, documented, k, "%s has the key %s, which %s does not document", tc.file, k, configDoc)
			}
		})
	}
}

// TestConfigCheck runs the real binary's `sanse config check` on each
// configuration: strict decoding into cmd/sanse's Config, the checks of
// every option, the registry and the rules.
func TestConfigCheck(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build cmd/sanse")
	bin := filepath.Join(t.TempDir(), "sanse")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/sanse")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/sanse:\n%s", out)

	// The configuration alone decides: no SANSE_* override from the caller's
	// environment (make test sets SANSE_CLICKHOUSE_DSN).
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SANSE_") {
			env = append(env, kv)
		}
	}
	for _, tc := range configFiles {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withSecrets(t, tc.file)
			registry, err := filepath.Abs(tc.registry)
			require.NoError(t, err)
			cmd := exec.Command(bin, "config", "check", "--config.file", cfg, "--registry.file", registry)
			cmd.Dir = t.TempDir()
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "sanse config check --config.file %s:\n%s", tc.file, out)
		})
	}
}

// secretPath matches the secret files a deployed configuration names.
var secretPath = regexp.MustCompile(`/etc/sanse/secrets/[^\s"']+`)

// withSecrets returns a copy of the configuration file whose secret files
// (under /etc/sanse/secrets, which exist only where it is deployed) are
// made in a temporary directory, since config check reads them.
func withSecrets(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, p := range secretPath.FindAll(data, -1) {
		local := filepath.Join(dir, filepath.Base(string(p)))
		require.NoError(t, os.WriteFile(local, []byte("SEC-not-a-real-secret\n"), 0o600))
	}
	data = secretPath.ReplaceAllFunc(data, func(p []byte) []byte { return []byte(filepath.Join(dir, filepath.Base(string(p)))) })
	out := filepath.Join(dir, filepath.Base(file))
	require.NoError(t, os.WriteFile(out, data, 0o600))
	return out
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(dockerfile)
	require.NoError(t, err)
	text := string(data)
	var cfg struct {
		Web struct {
			ListenAddress string `yaml:"listen_address"`
		} `yaml:"web"`
	}
	decodeFile(t, exampleConfig, &cfg)
	port := strconv.Itoa(listenPort(t, cfg.Web.ListenAddress))

	require.Regexp(t, `(?m)^FROM golang:\S+ AS build$`, text)
	require.Regexp(t, `CGO_ENABLED=0 go build .*\./cmd/sanse`, text)
	require.Regexp(t, `(?m)^EXPOSE `+port+`$`, text)
	require.Regexp(t, `(?m)^HEALTHCHECK .*\n?.*http://127\.0\.0\.1:`+port+`/healthz`, text)
	require.Regexp(t, `(?m)^COPY deploy/`+regexp.QuoteMeta(exampleConfig)+` /etc/sanse/sanse\.yaml$`, text)
	users := regexp.MustCompile(`(?m)^USER (\S+)$`).FindAllStringSubmatch(text, -1)
	require.NotEmpty(t, users, "no USER")
	last := users[len(users)-1][1]
	require.NotContains(t, []string{"root", "0", "0:0"}, last, "the image runs as root")
}

// table is one CREATE TABLE statement, parsed.
type table struct {
	database  string // empty when the name is not qualified
	name      string
	cluster   string // ON CLUSTER argument, unquoted; empty without
	columns   []column
	engine    string
	args      []string
	partition string
	order     string
	file      string
}

type column struct{ name, typ string }

func (c column) String() string { return c.name + " " + c.typ }

var (
	lineComment  = regexp.MustCompile(`--[^\n]*`)
	spaces       = regexp.MustCompile(`\s+`)
	createTable  = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:(\w+)\.)?(\w+)(?:\s+ON\s+CLUSTER\s+'([^']*)')?\s*`)
	engineClause = regexp.MustCompile(`(?is)^ENGINE\s*=\s*(\w+)\s*`)
	addColumn    = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:(\w+)\.)?(\w+)(?:\s+ON\s+CLUSTER\s+'[^']*')?\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+(.+?)(?:\s+AFTER\s+(\w+))?$`)
	createDB     = regexp.MustCompile(`(?is)^CREATE\s+DATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)(?:\s+ON\s+CLUSTER\s+'([^']*)')?$`)
	clauseWord   = regexp.MustCompile(`(?i)\b(PARTITION\s+BY|ORDER\s+BY|PRIMARY\s+KEY|SAMPLE\s+BY|TTL|SETTINGS)\b`)
)

// normalize collapses white space, so that layout does not matter.
func normalize(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// balanced returns the text inside the parenthesis that opens s and the
// rest after it.
func balanced(s string) (inside, rest string, err error) {
	if !strings.HasPrefix(s, "(") {
		return "", "", fmt.Errorf("expected ( at %.30q", s)
	}
	depth, quoted := 0, false
	for i, r := range s {
		switch {
		case quoted:
			if r == '\'' {
				quoted = false
			}
		case r == '\'':
			quoted = true
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], nil
			}
		}
	}
	return "", "", fmt.Errorf("unbalanced parentheses in %.30q", s)
}

// splitTop splits s at the commas outside parentheses and quotes.
func splitTop(s string) []string {
	var (
		out          []string
		depth, start int
		quoted       bool
	)
	for i, r := range s {
		switch {
		case quoted:
			if r == '\'' {
				quoted = false
			}
		case r == '\'':
			quoted = true
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ',' && depth == 0:
			out = append(out, normalize(s[start:i]))
			start = i + 1
		}
	}
	if last := normalize(s[start:]); last != "" {
		out = append(out, last)
	}
	return out
}

// clauses returns the table clauses after the engine (PARTITION BY, ORDER
// BY, ...) by keyword.
func clauses(s string) map[string]string {
	out := map[string]string{}
	locs := clauseWord.FindAllStringSubmatchIndex(s, -1)
	for i, loc := range locs {
		end := len(s)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		out[strings.ToUpper(normalize(s[loc[2]:loc[3]]))] = normalize(s[loc[1]:end])
	}
	return out
}

// parseSchema reads every .sql file of dir: CREATE TABLE statements, ALTER
// TABLE ... ADD COLUMN (applied to the table created before) and CREATE
// DATABASE. Any other statement fails the test, so that a new kind of
// migration is not silently left out of the comparison. It returns the
// tables by unqualified name and the databases created.
func parseSchema(t *testing.T, dir string) (map[string]*table, map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no .sql files in %s", dir)
	sort.Strings(files)
	tables := map[string]*table{}
	databases := map[string]string{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		src := lineComment.ReplaceAllString(string(data), "")
		for _, stmt := range strings.Split(src, ";") {
			stmt = strings.TrimSpace(stmt)
			if stmt == "" {
				continue
			}
			switch {
			case createTable.MatchString(stmt):
				tb, err := parseCreateTable(stmt)
				require.NoError(t, err, "%s: %.60q", file, stmt)
				tb.file = file
				require.NotContains(t, tables, tb.name, "%s: table %s is created twice", file, tb.name)
				tables[tb.name] = tb
			case addColumn.MatchString(stmt):
				m := addColumn.FindStringSubmatch(stmt)
				tb, ok := tables[m[2]]
				require.True(t, ok, "%s: ALTER of table %s, which no earlier file creates", file, m[2])
				col := column{name: m[3], typ: normalize(m[4])}
				at := len(tb.columns)
				if m[5] != "" {
					i := slices.IndexFunc(tb.columns, func(c column) bool { return c.name == m[5] })
					require.GreaterOrEqual(t, i, 0, "%s: ADD COLUMN %s AFTER unknown column %s", file, m[3], m[5])
					at = i + 1
				}
				tb.columns = slices.Insert(tb.columns, at, col)
			case createDB.MatchString(stmt):
				m := createDB.FindStringSubmatch(stmt)
				databases[m[1]] = m[2]
			default:
				t.Fatalf("%s: statement not understood by this test (extend parseSchema): %.80q", file, stmt)
			}
		}
	}
	return tables, databases
}

func parseCreateTable(stmt string) (*table, error) {
	m := createTable.FindStringSubmatchIndex(stmt)
	tb := &table{name: stmt[m[4]:m[5]]}
	if m[2] >= 0 {
		tb.database = stmt[m[2]:m[3]]
	}
	if m[6] >= 0 {
		tb.cluster = stmt[m[6]:m[7]]
	}
	body, rest, err := balanced(stmt[m[1]:])
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	for _, def := range splitTop(body) {
		name, typ, ok := strings.Cut(def, " ")
		if !ok {
			return nil, fmt.Errorf("column definition %q has no type", def)
		}
		tb.columns = append(tb.columns, column{name: name, typ: normalize(typ)})
	}
	rest = strings.TrimSpace(rest)
	em := engineClause.FindStringSubmatchIndex(rest)
	if em == nil {
		return nil, fmt.Errorf("no ENGINE after the columns: %.40q", rest)
	}
	tb.engine = rest[em[2]:em[3]]
	rest = rest[em[1]:]
	if strings.HasPrefix(rest, "(") {
		args, after, err := balanced(rest)
		if err != nil {
			return nil, fmt.Errorf("engine arguments: %w", err)
		}
		tb.args = splitTop(args)
		rest = after
	}
	cl := clauses(rest)
	tb.partition, tb.order = cl["PARTITION BY"], cl["ORDER BY"]
	return tb, nil
}

// shardingKeys are the tables not sharded by school: every version of a
// token shares its name, not a school; both copies of a report made twice
// share its id, and every claim of a report run its run key; the few
// visitor-key fingerprints all live on the first shard.
var shardingKeys = map[string]string{
	"visitor_keys":  "0",
	"tokens":        "cityHash64(name)",
	"reports":       "cityHash64(id)",
	"report_claims": "cityHash64(run_key)",
}

func TestClusterSchemaMatchesSingleNode(t *testing.T) {
	single, _ := parseSchema(t, migrationsDir)
	cluster, databases := parseSchema(t, clusterSchemaDir)
	require.Contains(t, single, "events", "the parser found no events table in %s", migrationsDir)

	// One database, created on the cluster, names every cluster table.
	require.Len(t, databases, 1, "%s must create exactly one database", clusterSchemaDir)
	var db string
	for name, onCluster := range databases {
		db = name
		require.Equal(t, "{cluster}", onCluster, "CREATE DATABASE %s is not ON CLUSTER '{cluster}'", name)
	}

	// Every cluster table belongs to a single-node table.
	for name, tb := range cluster {
		base := strings.TrimSuffix(name, "_local")
		require.Contains(t, single, base, "%s: table %s has no single-node counterpart", tb.file, name)
		require.Equal(t, db, tb.database, "%s: table %s is not qualified with the database %s", tb.file, name, db)
		require.Equal(t, "{cluster}", tb.cluster, "%s: table %s is not created ON CLUSTER '{cluster}'", tb.file, name)
	}

	names := make([]string, 0, len(single))
	for name := range single {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := single[name]
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, want.columns)
			require.True(t, strings.HasSuffix(want.engine, "MergeTree"), "single-node %s has engine %s", name, want.engine)

			local, ok := cluster[name+"_local"]
			require.True(t, ok, "%s has no table %s_local", clusterSchemaDir, name)
			require.Equal(t, columnStrings(want.columns), columnStrings(local.columns), "%s_local: columns differ from %s", name, want.file)
			require.Equal(t, "Replicated"+want.engine, local.engine)
			wantArgs := append([]string{"'/clickhouse/tables/{shard}/{database}/" + name + "'", "'{replica}'"}, want.args...)
			require.Equal(t, wantArgs, local.args, "%s_local: engine arguments", name)
			require.Equal(t, want.partition, local.partition, "%s_local: PARTITION BY", name)
			require.Equal(t, want.order, local.order, "%s_local: ORDER BY", name)

			// The Distributed table carries the name the engine reads and
			// writes, so the engine's IF NOT EXISTS migration finds it.
			dist, ok := cluster[name]
			require.True(t, ok, "%s has no Distributed table %s", clusterSchemaDir, name)
			require.Equal(t, "Distributed", dist.engine)
			require.Equal(t, columnStrings(want.columns), columnStrings(dist.columns), "%s: columns differ from %s", name, want.file)
			require.Len(t, dist.args, 4, "%s: Distributed(cluster, database, table, sharding key)", name)
			require.Equal(t, "'{cluster}'", dist.args[0], "%s: cluster", name)
			require.Equal(t, db, strings.Trim(dist.args[1], "'`"), "%s: database of the local table", name)
			require.Equal(t, name+"_local", strings.Trim(dist.args[2], "'`"), "%s: the Distributed table must name its _local table", name)
			key := "cityHash64(school_id)"
			if k, ok := shardingKeys[name]; ok {
				key = k
			}
			require.Equal(t, key, dist.args[3], "%s: sharding key (one school's rows on one shard)", name)
		})
	}
}

func columnStrings(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.String()
	}
	return out
}
