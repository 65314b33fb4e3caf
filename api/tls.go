package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// certificate is the server's TLS certificate, read from its files at start
// and again on each reload; connections take the one in force when their
// handshake begins.
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
	logger            *slog.Logger
	// reloaded is sanse_api_tls_last_reload_successful, expiry
	// sanse_api_tls_certificate_expiry_timestamp_seconds.
	reloaded prometheus.Gauge
	expiry   prometheus.Gauge
}

func newCertificate(certFile, keyFile string, logger *slog.Logger, reg prometheus.Registerer) (*certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("api: TLS needs both a certificate file and a key file")
	}
	c := &certificate{certFile: certFile, keyFile: keyFile, logger: logger}
	cert, err := c.load()
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	f := promauto.With(reg)
	c.reloaded = f.NewGauge(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "api", Name: "tls_last_reload_successful",
		Help: "Whether the last reload of the HTTPS certificate and key succeeded (1) or was refused (0).",
	})
	c.expiry = f.NewGauge(prometheus.GaugeOpts{
		Namespace: "sanse", Subsystem: "api", Name: "tls_certificate_expiry_timestamp_seconds",
		Help: "When the HTTPS certificate in force expires, in seconds since the Unix epoch.",
	})
	c.swap(cert)
	return c, nil
}

// load reads and parses the certificate and key files.
func (c *certificate) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		// The error names the file; it never holds the key.
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
	}
	return &cert, nil
}

func (c *certificate) swap(cert *tls.Certificate) {
	c.current.Store(cert)
	c.reloaded.Set(1)
	c.expiry.Set(float64(cert.Leaf.NotAfter.Unix()))
}

// reload reads the files again and swaps the new certificate in; on any
// error the one in force stays, the error is logged and returned, and the
// reload gauge drops to 0.
func (c *certificate) reload() error {
	cert, err := c.load()
	if err != nil {
		c.reloaded.Set(0)
		c.logger.Error("TLS certificate reload refused; the current certificate stays", "err", err)
		return fmt.Errorf("api: %w", err)
	}
	c.swap(cert)
	c.logger.Info("TLS certificate reloaded", "file", c.certFile, "not_after", cert.Leaf.NotAfter)
	return nil
}

// config returns the server's TLS configuration: TLS 1.2 or later, with the
// certificate in force at each handshake.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}

// ReloadCertificate reads the TLS certificate and key files again; new
// connections use the new certificate. A pair that does not load is
// refused (logged, and sanse_api_tls_last_reload_successful drops to 0) and
// the current certificate stays. Without TLS it does nothing. It is safe
// for concurrent use.
func (s *Server) ReloadCertificate() error {
	if s.cert == nil {
		return nil
	}
	return s.cert.reload()
}
