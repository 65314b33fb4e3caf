package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SecretPrefix begins every token secret, so that a secret found in a log or
// a repository is recognised as Sanse's (and secret scanners can match it).
const SecretPrefix = "sanse_"

// secretBytes is how many random bytes a secret carries: 256 bits.
const secretBytes = 32

// secretEncoding writes a secret's random bytes: lower-case base32, no
// padding, so that it survives shells, URLs and copy and paste.
var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSecret returns a new random token secret: SecretPrefix and 32 random
// bytes in base32. It is shown once, to whoever creates the token; only its
// hash (HashSecret) is kept.
func NewSecret() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("auth: read random bytes: %v", err)) // crypto/rand never fails on supported platforms
	}
	return SecretPrefix + secretEncoding.EncodeToString(b)
}

// HashSecret returns the hex SHA-256 of a secret, as tokens are stored. A
// fast hash is enough: secrets are 256 random bits, not passwords a person
// chose, so there is nothing to guess from the hash.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Token is an API token as stored: never its secret, only the secret's hash.
type Token struct {
	// Name identifies the token; it is the actor of every act done with it.
	Name string
	// Hash is HashSecret of the secret.
	Hash      string
	Scope     Scope
	Role      Role
	CreatedAt time.Time
	CreatedBy string
	// ExpiresAt is when the token stops working; zero never.
	ExpiresAt time.Time
	// RevokedAt is when the token was revoked; zero while it is not.
	RevokedAt time.Time
}

// Active reports whether the token works at now: neither revoked nor
// expired.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Identity returns the identity the token stands for.
func (t Token) Identity() Identity {
	return Identity{Name: t.Name, Role: t.Role, Scope: t.Scope}
}

// tokenName is what a token's name may be: letters, digits and . _ - @,
// beginning with a letter or digit; 1 to 64 of them.
var tokenName = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$`)

// CheckName reports whether name may name a token.
func CheckName(name string) error {
	if !tokenName.MatchString(name) {
		return fmt.Errorf("token name %q: expected 1 to 64 letters, digits, '.', '_', '-' or '@', beginning with a letter or digit", name)
	}
	return nil
}

// Errors of Verify. Their text is what a refused caller reads.
var (
	// ErrNoToken is returned when a request carries no credentials.
	ErrNoToken = errors.New("authentication required: send Authorization: Bearer <token>, or sign in")
	// ErrInvalidToken is returned for a secret that matches no token.
	ErrInvalidToken = errors.New("invalid token")
	// ErrExpiredToken is returned for a token past its expiry.
	ErrExpiredToken = errors.New("token expired")
	// ErrRevokedToken is returned for a revoked token.
	ErrRevokedToken = errors.New("token revoked")
	// ErrNotFound is returned by a TokenStore for a name or hash it does
	// not have.
	ErrNotFound = errors.New("token not found")
)

// TokenStore reads stored tokens. engine/store satisfies it. It must be safe
// for concurrent use and return soon after ctx is done.
type TokenStore interface {
	// TokenByHash returns the latest version of the token whose hash is
	// hash, or an error wrapping ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
}

// DefaultCacheTTL is how long a Verifier trusts what it read of a token:
// the longest a revoked token keeps working on an instance that used it
// just before.
const DefaultCacheTTL = 5 * time.Second

// maxCached bounds the cache; it is emptied when full, so that presenting
// many invalid secrets cannot grow it without bound.
const maxCached = 10000

// Verifier checks presented secrets against the stored tokens. What it read
// of a hash, found or not, is cached for the TTL: a revocation, a new token
// or an expiry takes effect on every instance within the TTL. It is safe
// for concurrent use.
type Verifier struct {
	store TokenStore
	ttl   time.Duration
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	token   Token
	found   bool
	expires time.Time
}

// NewVerifier returns a Verifier over store with the given cache TTL;
// DefaultCacheTTL when ttl is zero, no cache when it is negative.
func NewVerifier(store TokenStore, ttl time.Duration) *Verifier {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	return &Verifier{store: store, ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

// Verify returns the identity of the token whose secret is presented, or
// ErrNoToken, ErrInvalidToken, ErrExpiredToken, ErrRevokedToken, or an error
// reading the store.
func (v *Verifier) Verify(ctx context.Context, secret string) (Identity, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return Identity{}, ErrNoToken
	}
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 128 {
		return Identity{}, ErrInvalidToken
	}
	hash := HashSecret(secret)
	now := v.now()
	t, found, err := v.lookup(ctx, hash, now)
	if err != nil {
		return Identity{}, err
	}
	// The map lookup compared hashes, which leaks nothing useful about a
	// secret; comparing again in constant time keeps the check itself
	// independent of where two hashes differ.
	if !found || subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return Identity{}, ErrInvalidToken
	}
	switch {
	case !t.RevokedAt.IsZero():
		return Identity{}, ErrRevokedToken
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return Identity{}, ErrExpiredToken
	}
	return t.Identity(), nil
}

func (v *Verifier) lookup(ctx context.Context, hash string, now time.Time) (Token, bool, error) {
	if v.ttl > 0 {
		v.mu.Lock()
		c, ok := v.cache[hash]
		v.mu.Unlock()
		if ok && now.Before(c.expires) {
			return c.token, c.found, nil
		}
	}
	t, err := v.store.TokenByHash(ctx, hash)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Token{}, false, fmt.Errorf("read token: %w", err)
	}
	if v.ttl > 0 {
		v.mu.Lock()
		if len(v.cache) >= maxCached {
			clear(v.cache)
		}
		v.cache[hash] = cached{token: t, found: found, expires: now.Add(v.ttl)}
		v.mu.Unlock()
	}
	return t, found, nil
}
