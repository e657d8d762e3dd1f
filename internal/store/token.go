package store

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	if !validTokenID(t.ID) {
		return fmt.Errorf("token: %w: id %q must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)", ErrInvalid, t.ID)
	}
	if !validTokenName(t.Name) {
		return fmt.Errorf("token %s: %w: name must be at most 64 letters, digits, spaces or . _ - ( ) and no other characters", t.ID, ErrInvalid)
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

// validTokenID reports whether id is 1-64 ASCII letters, digits, '.', '_'
// or '-', starting with a letter or digit: a token ID is a path segment
// (/tokens/{id}/revoke) and appears in logs and histories.
func validTokenID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// validTokenName reports whether a token's display name (empty allowed) is
// at most 64 characters of letters (any script), digits, spaces and
// ". _ - ( )": it names the actor in histories and the console shows it.
func validTokenName(name string) bool {
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return false
	}
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(" ._-()", c) {
			return false
		}
	}
	return true
}
