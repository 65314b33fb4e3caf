package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

const (
	smtpUser     = "alerts@nanhu.example.org"
	smtpPassword = "correct horse battery staple"
)

// mailServer is a real SMTP server (go-smtp) offering STARTTLS with a
// self-signed certificate and AUTH PLAIN only after TLS.
type mailServer struct {
	addr   string
	caFile string // PEM of the self-signed certificate

	mu       sync.Mutex
	mails    []receivedMail
	authSeen bool
}

type receivedMail struct {
	from string
	to   []string
	data []byte
	tls  bool
}

// newMailServer starts the server; withTLS false offers no STARTTLS.
func newMailServer(t *testing.T, withTLS bool) *mailServer {
	t.Helper()
	cert, pemBytes := selfSigned(t)
	ms := &mailServer{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	require.NoError(t, os.WriteFile(ms.caFile, pemBytes, 0o600))

	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{srv: ms, conn: c}, nil
	}))
	s.Domain = "mail.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	if withTLS {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ms
}

func (ms *mailServer) received() []receivedMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]receivedMail(nil), ms.mails...)
}

type mailSession struct {
	srv    *mailServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.authSeen = true
	s.srv.mu.Unlock()
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != smtpUser || password != smtpPassword {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, receivedMail{from: s.from, to: s.to, data: b, tls: isTLS})
	s.srv.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and localhost and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sanse test mail"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	require.NoError(t, err)
	return cert, certPEM
}

func emailConfig(ms *mailServer) *EmailConfig {
	return &EmailConfig{
		Smarthost: ms.addr,
		From:      "三色预警 <" + smtpUser + ">",
		To:        []string{"安全科 <safety@nanhu.example.org>", "duty@nanhu.example.org"},
		Hello:     "sanse.nanhu.example.org",
		Username:  smtpUser,
		Password:  smtpPassword,
		CAFile:    ms.caFile,
		Timeout:   10 * time.Second,
	}
}

func emailReceiver(t *testing.T, c *EmailConfig) *Receiver {
	return newTestReceiver(t, ReceiverConfig{Name: "南湖区安全科邮箱", Email: c})
}

func TestEmailOverSTARTTLSWithAuth(t *testing.T) {
	ms := newMailServer(t, true)
	require.NoError(t, sendOne(t, emailReceiver(t, emailConfig(ms)), sampleMessage()))

	mails := ms.received()
	require.Len(t, mails, 1)
	got := mails[0]
	require.True(t, got.tls, "the message must travel over TLS")
	require.Equal(t, smtpUser, got.from)
	require.Equal(t, []string{"safety@nanhu.example.org", "duty@nanhu.example.org"}, got.to)

	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "【红色预警】嘉兴市南湖区城南幼儿园", subject)
	require.NotContains(t, msg.Header.Get("Subject"), "红", "the raw subject is RFC 2047-encoded")
	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, "三色预警", from[0].Name)
	require.Equal(t, "<n-20261125-0001@nanhu.example.org>", msg.Header.Get("Message-ID"))
	require.Equal(t, "n-20261125-0001", msg.Header.Get("X-Sanse-Notification-Id"))
	date, err := msg.Header.Date()
	require.NoError(t, err)
	require.True(t, date.Equal(testNow))

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		require.NoError(t, err)
		parts[p.Header.Get("Content-Type")] = string(b)
	}
	text, html := parts["text/plain; charset=UTF-8"], parts["text/html; charset=UTF-8"]
	for _, body := range []string{text, html} {
		require.Contains(t, body, "禁入名单人员于东门进入校园。")
		require.Contains(t, body, "红色")
		require.Contains(t, body, "https://sanse.example.org/?school=JX-NH-0001")
		require.NotContains(t, body, "李小明")
	}
	require.Contains(t, text, "查看地图：https://sanse.example.org/?school=JX-NH-0001")
}

func TestEmailErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withTLS  bool
		edit     func(c *EmailConfig)
		wantAuth bool // whether the server may have seen an AUTH command
	}{
		{"server rejects the password", true, func(c *EmailConfig) { c.Password = "wrong" }, true},
		{"server offers no STARTTLS", false, func(c *EmailConfig) {}, false},
		{"certificate not trusted", true, func(c *EmailConfig) { c.CAFile = "" }, false},
		{"certificate for another name", true, func(c *EmailConfig) { c.ServerName = "mail.example.org" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := newMailServer(t, tc.withTLS)
			c := emailConfig(ms)
			tc.edit(c)
			err := sendOne(t, emailReceiver(t, c), sampleMessage())
			require.Error(t, err)
			require.True(t, IsPermanent(err), "%v", err)
			t.Log(err)
			require.Empty(t, ms.received())
			ms.mu.Lock()
			defer ms.mu.Unlock()
			require.Equal(t, tc.wantAuth, ms.authSeen)
			require.NotContains(t, err.Error(), smtpPassword)
		})
	}
}

// TestEmailServerDown checks that an unreachable smarthost is a transient
// error.
func TestEmailServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	err = sendOne(t, emailReceiver(t, &EmailConfig{Smarthost: addr, From: smtpUser, To: []string{smtpUser}}), sampleMessage())
	require.Error(t, err)
	require.False(t, IsPermanent(err), "%v", err)
}

// TestEmailCancel checks that cancelling the context ends a session with a
// server that never answers.
func TestEmailCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept() // accept, then stay silent
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	r := emailReceiver(t, &EmailConfig{Smarthost: l.Addr().String(), From: smtpUser, To: []string{smtpUser}})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := r.Send(ctx, sampleMessage())
	require.Less(t, time.Since(start), 2*time.Second)
	require.ErrorIs(t, res[0].Err, context.DeadlineExceeded)
	require.False(t, IsPermanent(res[0].Err))
}

func TestEmailImplicitTLS(t *testing.T) {
	cert, pemBytes := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pemBytes, 0o600))
	ms := &mailServer{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{srv: ms, conn: c}, nil
	}))
	s.Domain = "mail.test"
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })

	c := &EmailConfig{
		Smarthost: l.Addr().String(), From: smtpUser, To: []string{"duty@nanhu.example.org"},
		Username: smtpUser, Password: smtpPassword, ImplicitTLS: true, CAFile: caFile,
	}
	require.NoError(t, sendOne(t, emailReceiver(t, c), sampleMessage()))
	mails := ms.received()
	require.Len(t, mails, 1)
	require.True(t, mails[0].tls)
	require.Contains(t, string(mails[0].data), "Subject: =?UTF-8?b?")
}
