package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sanse-campus/sanse/engine/testcert"
)

// TestRunServesTLSAndReloadsCertificate serves HTTPS with a certificate from
// files, swaps in a new one on reload (new connections see it), and keeps
// the one in force when the new files do not load.
func TestRunServesTLSAndReloadsCertificate(t *testing.T) {
	ca := testcert.NewCA(t)
	first := ca.Issue(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := first.WriteFiles(t, dir)
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	s := newTestServer(t, Options{TLSCertFile: certFile, TLSKeyFile: keyFile, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startRun(t, ctx, s)
	base = strings.Replace(base, "http://", "https://", 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}
	served := func() *big.Int {
		t.Helper()
		resp, err := client.Get(base + "/healthz")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp.TLS.PeerCertificates[0].SerialNumber
	}
	require.Equal(t, first.Serial, served())
	gauge := func() float64 {
		return testutil.ToFloat64(s.cert.reloaded)
	}
	require.Equal(t, 1.0, gauge())

	// Plain HTTP is not answered as HTTP.
	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := plain.Get(strings.Replace(base, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an HTTP request to the HTTPS port")
	}

	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	_, err := old.Get(base + "/healthz")
	require.Error(t, err, "TLS 1.1")

	second := ca.Issue(t, "127.0.0.1")
	second.WriteFiles(t, dir)
	require.NoError(t, s.ReloadCertificate())
	require.Equal(t, second.Serial, served(), "the new certificate is served")
	require.Equal(t, 1.0, gauge())
	require.Equal(t, float64(second.Cert.Leaf.NotAfter.Unix()), testutil.ToFloat64(s.cert.expiry))

	// A key that does not match the certificate is refused; the second
	// certificate stays.
	third := ca.Issue(t, "127.0.0.1")
	testcert.Write(t, certFile, third.CertPEM)
	err = s.ReloadCertificate()
	require.ErrorContains(t, err, certFile)
	require.Equal(t, second.Serial, served(), "the current certificate stays")
	require.Equal(t, 0.0, gauge())
	require.Contains(t, logs.String(), "TLS certificate reload refused")
	require.NotContains(t, logs.String(), string(third.KeyPEM), "no key in the logs")

	// A missing file is refused too; a good pair again is taken.
	require.NoError(t, os.Remove(keyFile))
	require.Error(t, s.ReloadCertificate())
	third.WriteFiles(t, dir)
	require.NoError(t, s.ReloadCertificate())
	require.Equal(t, third.Serial, served())
	require.Equal(t, 1.0, gauge())

	cancel()
	require.NoError(t, <-done)
}

func TestNewRefusesBadTLSFiles(t *testing.T) {
	ca := testcert.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, "localhost").WriteFiles(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	testcert.Write(t, garbage, []byte("not a certificate"))
	tests := []struct {
		name, cert, key, want string
	}{
		{name: "certificate without key", cert: certFile, want: "both a certificate file and a key file"},
		{name: "key without certificate", key: keyFile, want: "both a certificate file and a key file"},
		{name: "missing file", cert: filepath.Join(dir, "missing.pem"), key: keyFile, want: "missing.pem"},
		{name: "not PEM", cert: garbage, key: keyFile, want: "garbage.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Schools: testSchools(), Timeline: (&fakeTimeline{}).timeline,
				TLSCertFile: tc.cert, TLSKeyFile: tc.key})
			require.ErrorContains(t, err, tc.want)
		})
	}
	s := newTestServer(t, Options{})
	require.NoError(t, s.ReloadCertificate(), "without TLS a reload does nothing")
}
