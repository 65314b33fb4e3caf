package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const defaultEmailTimeout = 30 * time.Second

// email sends mail through a smarthost.
type email struct {
	smarthost   string
	from        *mail.Address
	to          []*mail.Address
	hello       string
	username    string
	password    string
	startTLS    bool
	implicitTLS bool
	tls         *tls.Config
	timeout     time.Duration
	now         func() time.Time
}

func newEmail(c EmailConfig, now func() time.Time) (*email, error) {
	e := &email{
		smarthost:   c.Smarthost,
		hello:       c.Hello,
		username:    c.Username,
		startTLS:    c.startTLS(),
		implicitTLS: c.ImplicitTLS,
		timeout:     c.Timeout,
		now:         now,
	}
	if e.timeout == 0 {
		e.timeout = defaultEmailTimeout
	}
	if e.hello == "" {
		e.hello = "localhost"
	}
	var err error
	if e.from, err = mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("email.from: %w", err)
	}
	for _, to := range c.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("email.to: %w", err)
		}
		e.to = append(e.to, a)
	}
	if e.password, err = secretValue(c.Password, c.PasswordFile); err != nil {
		return nil, fmt.Errorf("email.password_file: %w", err)
	}
	host, _, _ := net.SplitHostPort(c.Smarthost)
	e.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.ServerName != "" {
		e.tls.ServerName = c.ServerName
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email.ca_file: no PEM certificate in %s", c.CAFile)
		}
		e.tls.RootCAs = pool
	}
	return e, nil
}

func (e *email) Kind() string { return "email" }

func (e *email) Send(ctx context.Context, m *Message) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	msg, err := e.compose(m)
	if err != nil {
		return Permanent(fmt.Errorf("email: compose: %w", err))
	}
	if err := e.deliver(ctx, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("email via %s: %w", e.smarthost, context.Cause(ctx))
		}
		return fmt.Errorf("email via %s: %w", e.smarthost, err)
	}
	return nil
}

// deliver runs one SMTP session. Cancelling ctx closes the connection,
// which ends whatever command is waiting.
func (e *email) deliver(ctx context.Context, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.smarthost)
	if err != nil {
		return err
	}
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if e.implicitTLS {
		tc := tls.Client(conn, e.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return smtpStep("TLS", err)
		}
		conn = tc
	}
	var c *smtp.Client
	if e.startTLS {
		// NewClientStartTLS greets as "localhost" before TLS and fails,
		// sending nothing else, when the server does not offer STARTTLS.
		if c, err = smtp.NewClientStartTLS(conn, e.tls); err != nil {
			return smtpStep("STARTTLS", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	// The first command over TLS also completes the handshake, so a
	// certificate that does not verify fails here.
	if err := c.Hello(e.hello); err != nil {
		return smtpStep("EHLO", err)
	}
	if e.username != "" {
		if _, ok := c.TLSConnectionState(); !ok {
			return Permanent(errors.New("refusing to send the password over an unencrypted connection"))
		}
		var a sasl.Client
		switch {
		case c.SupportsAuth(sasl.Plain):
			a = sasl.NewPlainClient("", e.username, e.password)
		case c.SupportsAuth(sasl.Login):
			a = sasl.NewLoginClient(e.username, e.password)
		default:
			return Permanent(errors.New("the server offers neither AUTH PLAIN nor AUTH LOGIN"))
		}
		if err := c.Auth(a); err != nil {
			return smtpStep("AUTH", err)
		}
	}
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.Address
	}
	if err := c.SendMail(e.from.Address, to, bytes.NewReader(msg)); err != nil {
		return smtpStep("send", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// smtpStep wraps err with the step that failed and classifies it: an SMTP
// 5xx reply and a failure to set up TLS (no STARTTLS, a certificate that
// does not verify) are permanent; network errors and 4xx replies are not.
func smtpStep(step string, err error) error {
	err = fmt.Errorf("%s: %w", step, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Code >= 500 {
			return Permanent(err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return Permanent(err)
}

// compose writes the mail: UTF-8 headers with an RFC 2047 subject, and a
// multipart/alternative body with the plain text and the HTML renderings;
// with attachments (a report's files), a multipart/mixed mail of that body
// and one part per file.
func (e *email) compose(m *Message) ([]byte, error) {
	doc := newDocument(m)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct{ typ, content string }{
		{"text/plain; charset=UTF-8", doc.text()},
		{"text/html; charset=UTF-8", doc.html()},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeBase64(w, []byte(p.content)); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	contentType := `multipart/alternative; boundary="` + mw.Boundary() + `"`
	if m.Report != nil && len(m.Report.Attachments) > 0 {
		mixed, err := withAttachments(body.Bytes(), contentType, m.Report.Attachments)
		if err != nil {
			return nil, err
		}
		body.Reset()
		body.Write(mixed.body)
		contentType = mixed.contentType
	}

	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", e.from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.BEncoding.Encode("UTF-8", doc.Title))
	header("Date", e.now().Format(time.RFC1123Z))
	header("Message-ID", messageID(m.ID, e.from.Address))
	if id := headerSafe(m.ID); id != "" {
		header(headerID, id)
	}
	header("MIME-Version", "1.0")
	header("Content-Type", contentType)
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// mixedBody is a multipart/mixed body and its Content-Type.
type mixedBody struct {
	body        []byte
	contentType string
}

// withAttachments returns a multipart/mixed body of the alternative body
// (of Content-Type alternative) followed by one base64 part per file.
func withAttachments(alternative []byte, alternativeType string, files []Attachment) (mixedBody, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {alternativeType}})
	if err != nil {
		return mixedBody{}, err
	}
	if _, err := w.Write(alternative); err != nil {
		return mixedBody{}, err
	}
	for _, f := range files {
		typ := f.ContentType
		if typ == "" {
			typ = "application/octet-stream"
		}
		mediaType, params, err := mime.ParseMediaType(typ)
		if err != nil {
			return mixedBody{}, fmt.Errorf("attachment %q: content type %q: %w", f.Name, typ, err)
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(mediaType, params) + "; name=" + quotedName(f.Name)},
			"Content-Disposition":       {attachmentDisposition(f.Name)},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return mixedBody{}, err
		}
		if err := writeBase64(w, f.Data); err != nil {
			return mixedBody{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return mixedBody{}, err
	}
	return mixedBody{body: b.Bytes(), contentType: `multipart/mixed; boundary="` + mw.Boundary() + `"`}, nil
}

// attachmentDisposition returns the Content-Disposition of a file named
// name: for a name that is not plain ASCII, the RFC 2231 filename* (UTF-8,
// percent-encoded), which current mail clients read, and before it an
// RFC 2047 encoded filename for the clients that read only that.
func attachmentDisposition(name string) string {
	name = oneLine(name)
	if plainASCII(name) {
		return mime.FormatMediaType("attachment", map[string]string{"filename": name})
	}
	return "attachment; filename=" + quotedName(name) + "; filename*=UTF-8''" + rfc2231Escape(name)
}

// quotedName returns name as a quoted parameter value, RFC 2047-encoded
// when it is not plain ASCII.
func quotedName(name string) string {
	name = oneLine(name)
	if !plainASCII(name) {
		name = mime.BEncoding.Encode("UTF-8", name)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

func plainASCII(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// rfc2231Escape percent-encodes every byte of s that RFC 2231 does not
// allow as it is in an extended parameter value.
func rfc2231Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!#$&+-.^_`|~", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// writeBase64 writes data in base64 lines of 76 characters.
func writeBase64(w io.Writer, data []byte) error {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 0 {
		n := min(76, len(enc))
		if _, err := io.WriteString(w, enc[:n]+"\r\n"); err != nil {
			return err
		}
		enc = enc[n:]
	}
	return nil
}

// messageID derives the Message-ID from the notification ID, so that a
// retried notification carries the same one; mail clients and archives
// then show it once.
func messageID(id, from string) string {
	domain := "sanse.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var local strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-_+=", r):
			local.WriteRune(r)
		default:
			local.WriteByte('-')
		}
	}
	if local.Len() == 0 {
		var r [16]byte
		_, _ = rand.Read(r[:])
		local.WriteString(hex.EncodeToString(r[:]))
	}
	return "<" + local.String() + "@" + domain + ">"
}

// headerSafe returns s if it can be a header value as it is, or "".
func headerSafe(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return ""
		}
	}
	return s
}
