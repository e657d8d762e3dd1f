package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// AppendAudit implements store.Audit. Records that arrive while another
// group is being written are committed together in the next transaction
// (group commit): each caller still returns only after its record is
// committed, but a burst of writes through the API (hundreds of requests
// ending at once) costs a few transactions instead of one each, so it
// neither floods the write-ahead log nor holds the writer from ingest.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	req := &auditAppend{rec: r, done: make(chan struct{})}
	s.audit.mu.Lock()
	s.audit.queue = append(s.audit.queue, req)
	if !s.audit.writing {
		s.audit.writing = true
		go s.writeAudit()
	}
	s.audit.mu.Unlock()
	select {
	case <-req.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if req.err != nil {
		return 0, fmt.Errorf("append audit record: %w", req.err)
	}
	return req.id, nil
}

// auditAppend is one record waiting to be committed, and its outcome.
type auditAppend struct {
	rec  store.AuditRecord
	id   int64
	err  error
	done chan struct{}
}

// auditQueue holds the records waiting for the audit writer.
type auditQueue struct {
	mu      sync.Mutex
	queue   []*auditAppend
	writing bool // a writeAudit goroutine is running
}

// maxAuditGroup bounds the records committed in one transaction.
const maxAuditGroup = 512

// writeAudit commits the waiting records, a group at a time, until none
// are left. The transaction does not take a caller's context: it serves
// several callers, and one of them giving up must not undo the others.
func (s *Store) writeAudit() {
	for {
		s.audit.mu.Lock()
		group := s.audit.queue
		if len(group) > maxAuditGroup {
			group = group[:maxAuditGroup]
		}
		s.audit.queue = s.audit.queue[len(group):]
		if len(group) == 0 {
			s.audit.writing = false
			s.audit.queue = nil
			s.audit.mu.Unlock()
			return
		}
		s.audit.mu.Unlock()
		ctx := context.Background()
		err := s.withWrite(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit(t, actor, role, action, target, status, remote, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, a := range group {
				r := a.rec
				res, err := stmt.ExecContext(ctx, r.Time.UnixMilli(), r.Actor, string(r.Role), r.Action, r.Target, r.Status, r.Remote, r.Detail)
				if err != nil {
					return err
				}
				if a.id, err = res.LastInsertId(); err != nil {
					return err
				}
			}
			return nil
		})
		for _, a := range group {
			if err != nil {
				a.id, a.err = 0, err
			}
			close(a.done)
		}
	}
}

// AuditLog implements store.Audit.
func (s *Store) AuditLog(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	var where []string
	args := []any{q.After}
	where = append(where, "id > ?")
	if !q.From.IsZero() {
		where, args = append(where, "t >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where, args = append(where, "t < ?"), append(args, q.To.UnixMilli())
	}
	if q.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, q.Actor)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, store.MaxAuditPage)
	rows, err := s.r.QueryContext(ctx, `SELECT id, t, actor, role, action, target, status, remote, detail FROM audit WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []store.AuditRecord{}
	for rows.Next() {
		var r store.AuditRecord
		var t int64
		var role string
		if err := rows.Scan(&r.ID, &t, &r.Actor, &role, &r.Action, &r.Target, &r.Status, &r.Remote, &r.Detail); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		r.Time, r.Role = time.UnixMilli(t).UTC(), store.Role(role)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
