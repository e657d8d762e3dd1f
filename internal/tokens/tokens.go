// Package tokens holds the use cases of the API's bearer tokens: issuing a
// token for a role and a scope that exists (its secret returned once, only
// its SHA-256 kept, store.HashToken), listing them, and revoking one. The
// roles and what each may see are store.Role's; authenticating a request
// with a token is the API's.
package tokens

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Store is what the token use cases read and write: the tokens, and the
// parks and enterprises a scope names.
type Store interface {
	store.Tokens
	Park(ctx context.Context, id string) (meter.Park, error)
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
}

// Service runs the token use cases.
type Service struct {
	Store Store
	Now   func() time.Time // default time.Now
}

// Request asks for a new token. An empty ID gets a random one.
type Request struct {
	ID    string
	Name  string
	Role  store.Role
	Scope string
}

// NewSecret returns a random token secret: "sx_" and 24 random bytes,
// base64url.
func NewSecret() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return "sx_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Create issues a token created now and returns it with its secret, which
// is kept nowhere (the store keeps its hash). A token that does not
// validate (store.Token.Validate) or whose park or enterprise scope does
// not exist is refused with store.ErrInvalid; an ID in use is the store's
// store.ErrExists. Nothing is stored then.
func (s *Service) Create(ctx context.Context, req Request) (store.Token, string, error) {
	if req.ID == "" {
		req.ID = "tok-" + NewSecret()[3:11]
	}
	tok := store.Token{ID: req.ID, Name: req.Name, Role: req.Role, Scope: req.Scope, Created: s.now()}
	if err := tok.Validate(); err != nil {
		return store.Token{}, "", err
	}
	if err := s.scopeExists(ctx, tok); err != nil {
		return store.Token{}, "", err
	}
	secret := NewSecret()
	if err := s.Store.CreateToken(ctx, tok, store.HashToken(secret)); err != nil {
		return store.Token{}, "", err
	}
	return tok, secret, nil
}

// scopeExists refuses a park or enterprise token whose scope is not
// registered.
func (s *Service) scopeExists(ctx context.Context, tok store.Token) error {
	var err error
	switch tok.Role {
	case store.RolePark:
		_, err = s.Store.Park(ctx, tok.Scope)
	case store.RoleEnterprise:
		_, err = s.Store.Enterprise(ctx, tok.Scope)
	}
	if errors.Is(err, store.ErrNotFound) {
		return refusal.New(store.ErrInvalid, "scope %q: no such %s", tok.Scope, tok.Role)
	}
	return err
}

// List returns every token, revoked ones included.
func (s *Service) List(ctx context.Context) ([]store.Token, error) {
	return s.Store.Tokens(ctx)
}

// Revoke revokes a token now; revoking twice is not an error, an unknown
// ID is store.ErrNotFound. A server that caches tokens drops its cache
// after it.
func (s *Service) Revoke(ctx context.Context, id string) error {
	return s.Store.RevokeToken(ctx, id, s.now())
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
