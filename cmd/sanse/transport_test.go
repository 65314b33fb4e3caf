package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/testcert"
)

// transportFiles writes a CA, a server pair and password files into dir.
type transportFiles struct {
	dir, ca, cert, key, kafkaPW, chPW string
}

func writeTransportFiles(t *testing.T) transportFiles {
	t.Helper()
	dir := t.TempDir()
	ca := testcert.NewCA(t)
	f := transportFiles{dir: dir, ca: filepath.Join(dir, "ca.pem"), kafkaPW: filepath.Join(dir, "kafka.pw"),
		chPW: filepath.Join(dir, "ch.pw")}
	f.cert, f.key = ca.Issue(t, "localhost").WriteFiles(t, dir)
	testcert.Write(t, f.ca, ca.PEM)
	testcert.Write(t, f.kafkaPW, []byte("kafka-secret-4f1a\n"))
	testcert.Write(t, f.chPW, []byte("clickhouse-secret-9b2c\n"))
	return f
}

func TestTransportConfig(t *testing.T) {
	f := writeTransportFiles(t)
	file := `registry: {file: x.csv}
web: {tls_cert_file: ` + f.cert + `, tls_key_file: ` + f.key + `}
kafka:
  brokers: [kafka-1:9093]
  tls: {enabled: true, ca_file: ` + f.ca + `, cert_file: ` + f.cert + `, key_file: ` + f.key + `}
  sasl: {mechanism: SCRAM-SHA-512, username: sanse, password_file: ` + f.kafkaPW + `}
clickhouse:
  username: sanse
  password_file: ` + f.chPW + `
  tls: {enabled: true, ca_file: ` + f.ca + `}
`
	cfg, err := loadWith(t, file)
	require.NoError(t, err)
	opts := cfg.appOptions()
	sec := opts.Kafka.Security
	require.NotNil(t, sec.TLS)
	require.NotNil(t, sec.TLS.RootCAs)
	require.Len(t, sec.TLS.Certificates, 1)
	require.NotNil(t, sec.SASL)
	require.Equal(t, "SCRAM-SHA-512", sec.SASL.Name())
	require.Equal(t, "sanse", opts.ClickHouse.Username)
	require.Equal(t, "clickhouse-secret-9b2c", opts.ClickHouse.Password, "read from the file, trimmed")
	require.NotNil(t, opts.ClickHouse.TLS)
	require.NotNil(t, opts.ClickHouse.TLS.RootCAs)

	// Without any of it: plaintext, and the DSN's credentials.
	cfg, err = loadWith(t, "registry: {file: x.csv}\n")
	require.NoError(t, err)
	require.Nil(t, cfg.Kafka.sec.TLS)
	require.Nil(t, cfg.Kafka.sec.SASL)
	require.Empty(t, cfg.ClickHouse.conn)

	// Flags and their environment variables.
	t.Setenv("SANSE_KAFKA_SASL_PASSWORD_FILE", f.kafkaPW)
	cfg, err = loadWith(t, "registry: {file: x.csv}\n", "--kafka.brokers", "k:9093", "--kafka.tls-enabled", "true",
		"--kafka.tls-ca-file", f.ca, "--kafka.sasl-mechanism", "plain", "--kafka.sasl-username", "u",
		"--clickhouse.username", "ch", "--clickhouse.password-file", f.chPW, "--clickhouse.tls-enabled", "true",
		"--web.tls-cert-file", f.cert, "--web.tls-key-file", f.key)
	require.NoError(t, err)
	require.Equal(t, "PLAIN", cfg.Kafka.sec.SASL.Name())
	require.NotNil(t, cfg.Kafka.sec.TLS)
	require.Equal(t, "clickhouse-secret-9b2c", cfg.ClickHouse.conn.Password)
	require.Equal(t, f.cert, cfg.Web.TLSCertFile)
	require.NotNil(t, cfg.ClickHouse.conn.TLS)
	require.Nil(t, cfg.ClickHouse.conn.TLS.RootCAs, "the system's roots")
}

func TestTransportConfigRefusesMistakes(t *testing.T) {
	f := writeTransportFiles(t)
	missing := filepath.Join(f.dir, "missing")
	tests := []struct {
		name, file string
		want       []string
	}{
		{name: "web certificate without key", file: "web: {tls_cert_file: " + f.cert + "}",
			want: []string{"web: tls_cert_file and tls_key_file go together"}},
		{name: "web key that does not match", file: "web: {tls_cert_file: " + f.ca + ", tls_key_file: " + f.key + "}",
			want: []string{"web: TLS certificate " + f.ca}},
		{name: "kafka TLS files without enabled", file: "kafka: {brokers: [k:1], tls: {ca_file: " + f.ca + "}}",
			want: []string{"kafka.tls: ca_file, cert_file, key_file and insecure_skip_verify need enabled: true"}},
		{name: "kafka CA file missing and not PEM", file: "kafka: {brokers: [k:1], tls: {enabled: true, ca_file: " + missing + "}}",
			want: []string{"kafka.tls.ca_file: open " + missing}},
		{name: "kafka CA file not PEM", file: "kafka: {brokers: [k:1], tls: {enabled: true, ca_file: " + f.kafkaPW + "}}",
			want: []string{"no PEM certificate"}},
		{name: "kafka client certificate without key", file: "kafka: {brokers: [k:1], tls: {enabled: true, cert_file: " + f.cert + "}}",
			want: []string{"kafka.tls: cert_file and key_file go together"}},
		{name: "unknown mechanism", file: "kafka: {brokers: [k:1], sasl: {mechanism: GSSAPI, username: u, password: p}}",
			want: []string{`unknown SASL mechanism "GSSAPI"`}},
		{name: "username without mechanism", file: "kafka: {brokers: [k:1], sasl: {username: u}}",
			want: []string{"kafka.sasl: username and password need a mechanism"}},
		{name: "password and password_file", file: "kafka: {brokers: [k:1], tls: {enabled: true}, sasl: {mechanism: PLAIN, username: u, password: p, password_file: " + f.kafkaPW + "}}",
			want: []string{"kafka.sasl: set either password or password_file, not both"}},
		{name: "missing password file", file: "kafka: {brokers: [k:1], sasl: {mechanism: SCRAM-SHA-256, username: u, password_file: " + missing + "}}",
			want: []string{"kafka.sasl.password_file: open " + missing}},
		{name: "PLAIN without TLS", file: "kafka: {brokers: [k:1], sasl: {mechanism: PLAIN, username: u, password: p}}",
			want: []string{"PLAIN sends the password in the clear"}},
		{name: "SASL with the embedded broker", file: "kafka: {sasl: {mechanism: SCRAM-SHA-256, username: u, password: p}}",
			want: []string{"the embedded test broker, started when it is empty, uses neither"}},
		{name: "clickhouse password file missing", file: "clickhouse: {password_file: " + missing + "}",
			want: []string{"clickhouse.password_file: open " + missing}},
		{name: "clickhouse TLS files without enabled", file: "clickhouse: {tls: {insecure_skip_verify: true}}",
			want: []string{"clickhouse.tls: ca_file, cert_file, key_file and insecure_skip_verify need enabled: true"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadWith(t, "registry: {file: x.csv}\n"+tc.file+"\n")
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestConfigCheckKeepsSecrets runs `sanse config check` on a configuration
// with every kind of secret, inline and in files, valid and not: no secret
// appears in what it prints.
func TestConfigCheckKeepsSecrets(t *testing.T) {
	f := writeTransportFiles(t)
	secrets := []string{"kafka-secret-4f1a", "clickhouse-secret-9b2c", "inline-kafka-77e0", "inline-ch-31d5",
		"SECding-5e1d", "robot-token-08aa", "smtp-pw-c4d2", "hmac-key-19f3"}
	testcert.Write(t, filepath.Join(f.dir, "ding.secret"), []byte("SECding-5e1d"))
	testcert.Write(t, filepath.Join(f.dir, "ding.url"), []byte("https://oapi.dingtalk.com/robot/send?access_token=robot-token-08aa"))
	testcert.Write(t, filepath.Join(f.dir, "smtp.pw"), []byte("smtp-pw-c4d2"))
	testcert.Write(t, filepath.Join(f.dir, "hmac.key"), []byte("hmac-key-19f3"))
	receivers := `alerting:
  receivers:
    - name: office
      dingtalk: {url_file: ` + f.dir + `/ding.url, secret_file: ` + f.dir + `/ding.secret}
      webhook: {url: "https://hooks.example.org/x", secret_file: ` + f.dir + `/hmac.key}
      email: {smarthost: "mail.example.org:587", from: a@example.org, to: [b@example.org], username: u, password_file: ` + f.dir + `/smtp.pw}
`
	registry := filepath.Join("..", "..", "testdata", "registry", "demo.csv")
	good := `registry: {file: ` + registry + `}
kafka:
  brokers: [k:9093]
  tls: {enabled: true}
  sasl: {mechanism: SCRAM-SHA-256, username: sanse, password_file: ` + f.kafkaPW + `}
clickhouse: {password_file: ` + f.chPW + `}
` + receivers
	bad := `registry: {file: ` + registry + `}
kafka:
  brokers: [k:9093]
  sasl: {mechanism: PLAIN, username: sanse, password: inline-kafka-77e0, password_file: ` + f.kafkaPW + `}
clickhouse: {password: inline-ch-31d5, password_file: ` + f.chPW + `, dsn: "clickhouse://u:inline-ch-31d5@h:notaport/x"}
` + receivers + `    - name: broken
      dingtalk: {url: "https://oapi.dingtalk.com/robot/send?access_token=robot-token-08aa", secret: SECding-5e1d, secret_file: ` + f.dir + `/ding.secret}
`
	missing := `registry: {file: ` + registry + `}
` + strings.ReplaceAll(receivers, "ding.url", "nope.url")
	for name, file := range map[string]string{"good": good, "bad": bad, "missing file": missing} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "sanse.yaml")
			require.NoError(t, os.WriteFile(p, []byte(file), 0o600))
			var out, errOut bytes.Buffer
			code := run([]string{"config", "check", "--config.file", p}, &out, &errOut)
			if name == "good" {
				require.Equal(t, 0, code, errOut.String())
			} else {
				require.NotEqual(t, 0, code)
			}
			printed := out.String() + errOut.String()
			for _, s := range secrets {
				require.NotContains(t, printed, s)
			}
			require.NotContains(t, printed, "BEGIN", "no PEM printed")
			if name == "missing file" {
				require.Contains(t, printed, `receiver "office": dingtalk.url_file: open`)
			}
		})
	}
}
