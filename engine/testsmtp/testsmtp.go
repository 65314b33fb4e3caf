// Package testsmtp is a real SMTP server for tests of mail delivery (go-smtp,
// plain, no authentication) that keeps every mail, and a reader of what it
// kept as a mail client reads it. It is for tests only.
package testsmtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Sink is an SMTP server on a free local port, closed when the test ends.
type Sink struct {
	// Addr is the server's host:port, a smarthost.
	Addr string

	mu     sync.Mutex
	mails  [][]byte
	refuse int
}

// New starts a Sink.
func New(t testing.TB) *Sink {
	t.Helper()
	sink := &Sink{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: sink}, nil }))
	s.Domain = "mail.test"
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.Addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return sink
}

// Refuse answers the next n DATA commands with a transient 451.
func (s *Sink) Refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = n
}

// Received returns the mails kept so far, as sent.
func (s *Sink) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

type session struct{ sink *Sink }

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	if s.sink.refuse > 0 {
		s.sink.refuse--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.sink.mails = append(s.sink.mails, b)
	return nil
}

// Mail is a multipart mail as a client reads it: its subject, the text of
// its first alternative, and its attached files by name.
type Mail struct {
	Subject string
	Text    string
	Files   map[string][]byte
}

// Read parses a multipart/mixed mail with base64 parts, as Sanse sends them.
func Read(t testing.TB, raw []byte) Mail {
	t.Helper()
	fail := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	fail(err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	fail(err)
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	fail(err)
	if mediaType != "multipart/mixed" {
		t.Fatalf("a mail of %s, expected multipart/mixed (a mail with files)", mediaType)
	}
	m := Mail{Subject: subject, Files: map[string][]byte{}}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		fail(err)
		if name := p.FileName(); name != "" {
			b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			fail(err)
			m.Files[name] = b
			continue
		}
		_, ap, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		fail(err)
		ar := multipart.NewReader(p, ap["boundary"])
		first, err := ar.NextPart()
		fail(err)
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, first))
		fail(err)
		m.Text = string(b)
	}
	return m
}
