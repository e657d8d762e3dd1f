package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/store"
)

// AppendAudit implements store.Audit.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit(t, actor, role, action, target, status, remote, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Time.UnixMilli(), r.Actor, string(r.Role), r.Action, r.Target, r.Status, r.Remote, r.Detail)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append audit record: %w", err)
	}
	return id, nil
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
