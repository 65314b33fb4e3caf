package ingest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/ingest"
	"github.com/sanse-campus/sanse/engine/testcert"
)

// secured is an embedded broker that requires TLS, SASL or both, and the
// client side that passes.
type secured struct {
	name   string
	broker ingest.BrokerOptions
	client ingest.Security
}

// securedBrokers returns one case per way the consumer can reach a broker:
// each SASL mechanism, TLS with a private CA, and both.
func securedBrokers(t *testing.T) []secured {
	ca := testcert.NewCA(t)
	server := &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").Cert}, MinVersion: tls.VersionTLS12}
	client := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	mech := func(name string) sasl.Mechanism {
		m, err := ingest.NewSASL(name, "sanse", "s3cret-"+name)
		require.NoError(t, err)
		return m
	}
	user := func(name string) []ingest.SASLUser {
		return []ingest.SASLUser{{Mechanism: name, Username: "sanse", Password: "s3cret-" + name}}
	}
	return []secured{
		{name: "SCRAM-SHA-256", broker: ingest.BrokerOptions{SASLUsers: user(ingest.SASLScramSHA256)},
			client: ingest.Security{SASL: mech(ingest.SASLScramSHA256)}},
		{name: "SCRAM-SHA-512 over TLS", broker: ingest.BrokerOptions{TLS: server, SASLUsers: user(ingest.SASLScramSHA512)},
			client: ingest.Security{TLS: client, SASL: mech(ingest.SASLScramSHA512)}},
		{name: "PLAIN over TLS", broker: ingest.BrokerOptions{TLS: server, SASLUsers: user(ingest.SASLPlain)},
			client: ingest.Security{TLS: client, SASL: mech(ingest.SASLPlain)}},
		{name: "TLS", broker: ingest.BrokerOptions{TLS: server}, client: ingest.Security{TLS: client}},
	}
}

// TestSecuredBroker runs the consumer against brokers that require TLS,
// SASL or both: the topics are created, events are consumed and stored,
// dead letters are written, and the readiness check passes.
func TestSecuredBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts brokers and consumer groups")
	}
	reg := testRegistry(t)
	for _, tc := range securedBrokers(t) {
		t.Run(tc.name, func(t *testing.T) {
			tc.broker.Topics = []string{} // EnsureTopics creates them
			b := startBroker(t, tc.broker)
			addrs := b.Addrs()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			require.NoError(t, ingest.EnsureTopics(ctx, addrs, tc.client, allTopics, 2))

			now := time.Now()
			produceSecured(t, addrs[0], tc.client,
				msg(topicCanteen, "s1", canteenViolation("secured-1", "s1", now)),
				msg(topicCanteen, "s2", []byte("not json")),
			)
			store := &fakeStore{}
			r := startConsumer(t, ingest.Options{Brokers: addrs, Decoder: newDecoder(t, reg), Engine: newEngine(reg),
				Store: store, Security: tc.client})
			require.Eventually(t, func() bool { return len(store.events()) == 1 }, wait, 10*time.Millisecond)
			require.Equal(t, []string{"secured-1"}, store.events())
			dead := readSecured(t, addrs[0], tc.client, topicDead, 1)
			require.Equal(t, "not json", string(dead[0].Value))
			require.NoError(t, r.c.Ready(ctx))
			require.NoError(t, r.stop(t))
		})
	}
}

// TestSecuredBrokerRefused holds the consumer to a clear, prompt error when
// the broker refuses its credentials or it refuses the broker's
// certificate: Run returns (it does not retry forever), and the readiness
// check and EnsureTopics fail, all wrapping ErrAuthentication.
func TestSecuredBrokerRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts brokers")
	}
	reg := testRegistry(t)
	ca := testcert.NewCA(t)
	server := &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1").Cert}, MinVersion: tls.VersionTLS12}
	scram := []ingest.SASLUser{{Mechanism: ingest.SASLScramSHA256, Username: "sanse", Password: "right"}}
	wrong, err := ingest.NewSASL(ingest.SASLScramSHA256, "sanse", "wrong")
	require.NoError(t, err)
	nobody, err := ingest.NewSASL(ingest.SASLPlain, "nobody", "right")
	require.NoError(t, err)
	tests := []struct {
		name   string
		broker ingest.BrokerOptions
		client ingest.Security
		want   string
	}{
		{name: "wrong password", broker: ingest.BrokerOptions{SASLUsers: scram},
			client: ingest.Security{SASL: wrong}, want: "SASL"},
		{name: "unknown user and mechanism", broker: ingest.BrokerOptions{SASLUsers: scram},
			client: ingest.Security{SASL: nobody}, want: "SASL"},
		{name: "certificate of an unknown authority", broker: ingest.BrokerOptions{TLS: server},
			client: ingest.Security{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}, want: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, tc.broker)
			addrs := b.Addrs()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()

			err := ingest.EnsureTopics(ctx, addrs, tc.client, allTopics, 1)
			require.ErrorIs(t, err, ingest.ErrAuthentication)
			require.ErrorContains(t, err, tc.want)

			r := startConsumer(t, ingest.Options{Brokers: addrs, Decoder: newDecoder(t, reg), Engine: newEngine(reg),
				Store: &fakeStore{}, Security: tc.client})
			err = r.c.Ready(ctx)
			require.ErrorIs(t, err, ingest.ErrAuthentication)
			require.ErrorContains(t, err, tc.want)
			err = r.wait(t)
			require.ErrorIs(t, err, ingest.ErrAuthentication, "Run gives up with the reason")
			require.ErrorContains(t, err, "authentication failed")
		})
	}
}

func TestNewSASL(t *testing.T) {
	tests := []struct {
		name, mechanism, username string
		wantErr                   string
	}{
		{name: "plain", mechanism: "PLAIN", username: "u"},
		{name: "scram 256, any case", mechanism: "scram-sha-256", username: "u"},
		{name: "scram 512", mechanism: "SCRAM-SHA-512", username: "u"},
		{name: "unknown", mechanism: "GSSAPI", username: "u", wantErr: `unknown SASL mechanism "GSSAPI"`},
		{name: "no username", mechanism: "PLAIN", wantErr: "username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ingest.NewSASL(tc.mechanism, tc.username, "pw-never-shown")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "pw-never-shown")
				return
			}
			require.NoError(t, err)
			require.Equal(t, strings.ToUpper(tc.mechanism), m.Name())
		})
	}
}

// produceSecured writes msgs through a TLS and SASL transport.
func produceSecured(t testing.TB, addr string, sec ingest.Security, msgs ...kafka.Message) {
	t.Helper()
	tr := &kafka.Transport{TLS: sec.TLS, SASL: sec.SASL}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(addr), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
}

// readSecured reads n messages of topic from the start through a TLS and
// SASL dialer.
func readSecured(t testing.TB, addr string, sec ingest.Security, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr}, GroupID: fmt.Sprintf("reader-%d", time.Now().UnixNano()), GroupTopics: []string{topic},
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
		Dialer: &kafka.Dialer{Timeout: 10 * time.Second, TLS: sec.TLS, SASLMechanism: sec.SASL},
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err, "read %s: got %d of %d messages", topic, len(out), n)
		out = append(out, m)
	}
	return out
}
