package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// The SASL mechanisms NewSASL knows, as Kafka names them.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASLMechanisms lists the mechanisms NewSASL knows.
var SASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// dialTimeout bounds a connection to a broker, TLS and SASL included.
const dialTimeout = 10 * time.Second

// Security is how every client of the consumer reaches the brokers: the
// consumer group, the partition readers, the dead-letter writer and the
// admin calls (Ready, EnsureTopics). The zero value is plaintext without
// authentication.
type Security struct {
	// TLS, when not nil, wraps every connection in TLS with this client
	// configuration; an empty ServerName is set to the broker's host.
	TLS *tls.Config
	// SASL, when not nil, authenticates every connection (see NewSASL).
	SASL sasl.Mechanism
}

// NewSASL returns the SASL mechanism of that name (PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512, case-insensitive) for username and password. The errors
// never repeat the password.
func NewSASL(mechanism, username, password string) (sasl.Mechanism, error) {
	if username == "" {
		return nil, errors.New("SASL needs a username")
	}
	switch strings.ToUpper(mechanism) {
	case SASLPlain:
		return plain.Mechanism{Username: username, Password: password}, nil
	case SASLScramSHA256:
		m, err := scram.Mechanism(scram.SHA256, username, password)
		if err != nil {
			return nil, fmt.Errorf("SASL %s: cannot use the username or password as given", SASLScramSHA256)
		}
		return m, nil
	case SASLScramSHA512:
		m, err := scram.Mechanism(scram.SHA512, username, password)
		if err != nil {
			return nil, fmt.Errorf("SASL %s: cannot use the username or password as given", SASLScramSHA512)
		}
		return m, nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q, expected one of %s", mechanism, strings.Join(SASLMechanisms, ", "))
}

// dialer returns a dialer for the consumer group and the partition readers.
func (s Security) dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: dialTimeout, TLS: s.TLS, SASLMechanism: s.SASL}
}

// transport returns a transport for the dead-letter writer and the admin
// client. The caller closes its idle connections when done with it.
func (s Security) transport() *kafka.Transport {
	return &kafka.Transport{DialTimeout: dialTimeout, TLS: s.TLS, SASL: s.SASL}
}

// ErrAuthentication is returned, wrapped, when a broker refused the
// consumer's TLS or SASL credentials or the consumer refused the broker's
// certificate: trying again would not help, the configuration must change.
var ErrAuthentication = errors.New("kafka authentication failed")

// authError returns err wrapped in ErrAuthentication, with a hint at the
// options to check, when it says the broker refused the credentials or its
// certificate was refused; otherwise nil.
func authError(err error) error {
	var (
		kerr     kafka.Error
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &kerr) && (kerr == kafka.SASLAuthenticationFailed || kerr == kafka.UnsupportedSASLMechanism ||
		kerr == kafka.IllegalSASLState):
		return fmt.Errorf("%w: the broker refused the SASL credentials (check kafka.sasl): %w", ErrAuthentication, err)
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("%w: the broker's certificate was not accepted (check kafka.tls): %w", ErrAuthentication, err)
	case errors.As(err, &alert):
		return fmt.Errorf("%w: the broker refused the TLS handshake (check kafka.tls): %w", ErrAuthentication, err)
	}
	return nil
}

// explain returns authError(err) when err is an authentication failure,
// and err otherwise.
func explain(err error) error {
	if a := authError(err); a != nil {
		return a
	}
	return err
}
