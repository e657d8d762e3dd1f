package store

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// HashToken returns the hash under which a token secret is stored and looked
// up. Secrets are random (the caller makes them with crypto/rand), so a plain
// SHA-256 is enough: there is nothing to guess that a slow hash would protect.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// Role is what an API token may do.
type Role string

// Roles. Park and enterprise tokens are scoped to one park or enterprise;
// a regulator token may be scoped to a region code.
const (
	RoleAdmin      Role = "admin"
	RoleRegulator  Role = "regulator"
	RolePark       Role = "park"
	RoleEnterprise Role = "enterprise"
	RoleAuditor    Role = "auditor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleRegulator, RolePark, RoleEnterprise, RoleAuditor:
		return true
	}
	return false
}

// Token is an API token's record; the secret itself is never stored.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Role    Role      `json:"role"`
	Scope   string    `json:"scope,omitempty"` // park ID, enterprise ID or region code
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitempty"` // zero while active
}

// Validate checks role and scope: park and enterprise tokens need a scope,
// admin and auditor tokens have none.
func (t *Token) Validate() error {
	if t.ID == "" || len(t.ID) > 64 {
		return fmt.Errorf("token: %w: id must be 1-64 bytes", ErrInvalid)
	}
	if !t.Role.Valid() {
		return fmt.Errorf("token %s: %w: role %q", t.ID, ErrInvalid, t.Role)
	}
	switch t.Role {
	case RolePark, RoleEnterprise:
		if t.Scope == "" {
			return fmt.Errorf("token %s: %w: a %s token needs a scope", t.ID, ErrInvalid, t.Role)
		}
	case RoleAdmin, RoleAuditor:
		if t.Scope != "" {
			return fmt.Errorf("token %s: %w: an %s token has no scope", t.ID, ErrInvalid, t.Role)
		}
	}
	if t.Created.IsZero() {
		return fmt.Errorf("token %s: %w: no creation time", t.ID, ErrInvalid)
	}
	return nil
}
