// Package auth says who a caller is and what they may do: identities
// (Identity) with a role (Role: viewer, operator, admin) and a scope (Scope:
// every school, the schools of some districts, some schools), API tokens
// (random secrets of which only the SHA-256 hash is kept, Token, and the
// Verifier that checks a presented secret against the stored hashes through
// a short cache), and the audit record of who did what (Entry).
//
// It leaves out where tokens and audit records are kept (it declares
// TokenStore; engine/store satisfies it), HTTP (api reads the bearer token or
// the session cookie and asks the Verifier), and what each role may do on
// which route (api).
package auth
