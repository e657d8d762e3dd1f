package store

import (
	"context"
	"fmt"
	"time"
)

// Audit keeps the audit log: one record per API write and per token event
// (created, revoked, a failed authentication). It is append-only: the
// interface has no way to change or remove a record, and implementations
// refuse it underneath too (store/sqlite with triggers).
type Audit interface {
	// AppendAudit stores a record and returns the ID it was given; IDs grow
	// with every append.
	AppendAudit(ctx context.Context, r AuditRecord) (int64, error)
	// AuditLog returns the records q selects, in ID order (oldest first), at
	// most q.Limit (0: 100, at most MaxAuditPage).
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// MaxAuditPage is the most records one AuditLog call returns.
const MaxAuditPage = 1000

// Bounds on the text fields of an AuditRecord, in bytes.
const (
	maxAuditField  = 256
	maxAuditDetail = 1024
)

// AuditRecord is one entry of the audit log: who (Actor, Role), did what
// (Action, Target) with which outcome (Status), when and from where.
type AuditRecord struct {
	ID   int64     `json:"id"` // assigned by AppendAudit
	Time time.Time `json:"time"`
	// Actor is the token ID of the caller; empty when the caller was not
	// authenticated (a failed authentication).
	Actor string `json:"actor,omitempty"`
	Role  Role   `json:"role,omitempty"`
	// Action is the route pattern of an API write ("POST /api/v1/meters")
	// or the name of an event that has no route ("token.create" at start-up).
	Action string `json:"action"`
	// Target is the ID of the record written, when one is known.
	Target string `json:"target,omitempty"`
	// Status is the HTTP status answered (401 for a failed authentication).
	Status int    `json:"status"`
	Remote string `json:"remote,omitempty"` // the caller's network address
	Detail string `json:"detail,omitempty"`
}

// Validate checks that a record can be stored: a time, an action, a status
// and text fields within their bounds.
func (r *AuditRecord) Validate() error {
	if r.Time.IsZero() {
		return fmt.Errorf("audit record: %w: no time", ErrInvalid)
	}
	if r.Action == "" {
		return fmt.Errorf("audit record: %w: no action", ErrInvalid)
	}
	if r.Status < 100 || r.Status > 599 {
		return fmt.Errorf("audit record: %w: status %d", ErrInvalid, r.Status)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"actor", r.Actor, maxAuditField}, {"role", string(r.Role), maxAuditField}, {"action", r.Action, maxAuditField},
		{"target", r.Target, maxAuditField}, {"remote", r.Remote, maxAuditField}, {"detail", r.Detail, maxAuditDetail}} {
		if len(f.v) > f.max {
			return fmt.Errorf("audit record: %w: %s longer than %d bytes", ErrInvalid, f.name, f.max)
		}
	}
	return nil
}

// AuditQuery selects audit records. Zero fields do not filter.
type AuditQuery struct {
	From, To time.Time // [From, To) on the record time
	Actor    string    // token ID
	After    int64     // only records with a larger ID (the paging cursor)
	Limit    int       // 0: 100; capped at MaxAuditPage
}
