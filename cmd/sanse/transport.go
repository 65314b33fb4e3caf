package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/notify"
	"github.com/sanse-campus/sanse/engine/store"
)

// TLSClientConfig is how Sanse connects to a server over TLS: kafka.tls and
// clickhouse.tls.
type TLSClientConfig struct {
	// Enabled turns TLS on; the other fields need it.
	Enabled bool `yaml:"enabled"`
	// CAFile holds the PEM certificates that verify the server, in place of
	// the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (mutual TLS), both or
	// neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify accepts any server certificate: for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig is how Sanse authenticates to Kafka: kafka.sasl.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty turns SASL
	// off.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password, or the contents of PasswordFile (trimmed), is the user's.
	Password     notify.Secret `yaml:"password"`
	PasswordFile string        `yaml:"password_file"`
}

// build returns the client TLS configuration, nil when TLS is off. name is
// the option's prefix in errors, e.g. "kafka.tls".
func (c *TLSClientConfig) build(name string) (*tls.Config, error) {
	if !c.Enabled {
		if c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.InsecureSkipVerify {
			return nil, fmt.Errorf("%s: ca_file, cert_file, key_file and insecure_skip_verify need enabled: true", name)
		}
		return nil, nil
	}
	// InsecureSkipVerify is documented as for tests only.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	var errs []error
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.ca_file: %w", name, err))
		} else {
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("%s.ca_file %s: no PEM certificate in it", name, c.CAFile))
			}
		}
	}
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		errs = append(errs, fmt.Errorf("%s: cert_file and key_file go together", name))
	case c.CertFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: client certificate %s and key %s: %w", name, c.CertFile, c.KeyFile, err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// password returns the inline password or the contents of the file, trimmed.
// name is the option's prefix in errors, e.g. "kafka.sasl".
func password(name string, inline notify.Secret, file string) (string, error) {
	switch {
	case inline != "" && file != "":
		return "", fmt.Errorf("%s: set either password or password_file, not both", name)
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			// The error names the file, never its contents.
			return "", fmt.Errorf("%s.password_file: %w", name, err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return string(inline), nil
}

// security returns how the consumer reaches the brokers: kafka.tls and
// kafka.sasl, with the password read from its file.
func (c *KafkaConfig) security() (ingest.Security, error) {
	var (
		sec  ingest.Security
		errs []error
		err  error
	)
	if sec.TLS, err = c.TLS.build("kafka.tls"); err != nil {
		errs = append(errs, err)
	}
	s := &c.SASL
	if s.Mechanism == "" {
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			errs = append(errs, fmt.Errorf("kafka.sasl: username and password need a mechanism, one of %s",
				strings.Join(ingest.SASLMechanisms, ", ")))
		}
		return sec, errors.Join(errs...)
	}
	pw, err := password("kafka.sasl", s.Password, s.PasswordFile)
	if err != nil {
		errs = append(errs, err)
	} else if sec.SASL, err = ingest.NewSASL(s.Mechanism, s.Username, pw); err != nil {
		errs = append(errs, fmt.Errorf("kafka.sasl: %w", err))
	}
	if sec.SASL != nil && sec.TLS == nil && strings.EqualFold(s.Mechanism, ingest.SASLPlain) {
		errs = append(errs, errors.New("kafka.sasl: PLAIN sends the password in the clear; it needs kafka.tls.enabled: true"))
	}
	return sec, errors.Join(errs...)
}

// connectOptions returns the credentials and TLS of clickhouse: on top of the DSN,
// with the password read from its file.
func (c *ClickHouseConfig) connectOptions() (store.ConnectOptions, error) {
	var (
		co   store.ConnectOptions
		errs []error
		err  error
	)
	co.Username = c.Username
	if co.Password, err = password("clickhouse", c.Password, c.PasswordFile); err != nil {
		errs = append(errs, err)
	}
	if co.TLS, err = c.TLS.build("clickhouse.tls"); err != nil {
		errs = append(errs, err)
	}
	return co, errors.Join(errs...)
}

// checkTransport builds what the transport options say, reading the files
// they name, and keeps the results for appOptions and apiOptions. It
// returns every problem.
func (c *Config) checkTransport() []error {
	var errs []error
	w := &c.Web
	switch {
	case (w.TLSCertFile == "") != (w.TLSKeyFile == ""):
		errs = append(errs, errors.New("web: tls_cert_file and tls_key_file go together"))
	case w.TLSCertFile != "":
		if _, err := tls.LoadX509KeyPair(w.TLSCertFile, w.TLSKeyFile); err != nil {
			errs = append(errs, fmt.Errorf("web: TLS certificate %s and key %s: %w", w.TLSCertFile, w.TLSKeyFile, err))
		}
	}
	var err error
	if c.Kafka.sec, err = c.Kafka.security(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Kafka.Brokers) == 0 && (c.Kafka.sec.TLS != nil || c.Kafka.sec.SASL != nil) {
		errs = append(errs, errors.New("kafka.tls and kafka.sasl apply to the cluster of kafka.brokers; the embedded test broker, started when it is empty, uses neither"))
	}
	if c.ClickHouse.conn, err = c.ClickHouse.connectOptions(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// transportFlags binds the flags of the transport options. Passwords have
// no flag, as a command line is visible to every user of the machine: they
// come from the file, or from a file named by a flag.
func (cf *configFlags) transportFlags(str func(name, usage string, set func(*Config, string))) {
	boolean := func(name, usage string, set func(*Config, bool)) {
		cf.fs.String(name, "", usage)
		cf.setters[name] = func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			set(c, b)
			return nil
		}
	}
	boolean("kafka.tls-enabled", "connect to --kafka.brokers over TLS (default false)", func(c *Config, v bool) { c.Kafka.TLS.Enabled = v })
	str("kafka.tls-ca-file", "PEM certificates that verify the brokers, in place of the system's roots", func(c *Config, v string) { c.Kafka.TLS.CAFile = v })
	str("kafka.sasl-mechanism", "SASL mechanism: "+strings.Join(ingest.SASLMechanisms, ", ")+"; empty turns SASL off", func(c *Config, v string) { c.Kafka.SASL.Mechanism = v })
	str("kafka.sasl-username", "SASL user", func(c *Config, v string) { c.Kafka.SASL.Username = v })
	str("kafka.sasl-password-file", "file holding the SASL password", func(c *Config, v string) { c.Kafka.SASL.PasswordFile = v })
	str("clickhouse.username", "ClickHouse user, in place of the DSN's", func(c *Config, v string) { c.ClickHouse.Username = v })
	str("clickhouse.password-file", "file holding the ClickHouse password, in place of the DSN's", func(c *Config, v string) { c.ClickHouse.PasswordFile = v })
	boolean("clickhouse.tls-enabled", "connect to ClickHouse over TLS (default false, or secure=true in the DSN)", func(c *Config, v bool) { c.ClickHouse.TLS.Enabled = v })
	str("clickhouse.tls-ca-file", "PEM certificates that verify the ClickHouse server, in place of the system's roots", func(c *Config, v string) { c.ClickHouse.TLS.CAFile = v })
}
