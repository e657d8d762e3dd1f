package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// TestAuditAppendOnly: the database itself refuses to change or remove an
// audit record, whatever statement tries.
func TestAuditAppendOnly(t *testing.T) {
	s, _ := openTemp(t, Options{ManualCompaction: true})
	ctx := context.Background()
	id, err := s.AppendAudit(ctx, store.AuditRecord{Time: time.Now(), Actor: "tok-a", Action: "POST /api/v1/parks", Status: 201})
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE audit SET actor = 'someone-else' WHERE id = ?`, `DELETE FROM audit WHERE id = ?`} {
		_, err := s.w.ExecContext(ctx, stmt, id)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	got, err := s.AuditLog(ctx, store.AuditQuery{})
	if err != nil || len(got) != 1 || got[0].Actor != "tok-a" {
		t.Fatalf("after the refused statements: %+v %v", got, err)
	}
}
