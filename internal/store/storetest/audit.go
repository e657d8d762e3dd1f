package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// testAudit: records come back as appended, in ID order, filtered by time
// and actor, paged by the ID cursor; invalid records are refused.
func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := day(3)
	if got, err := s.AuditLog(ctx, store.AuditQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("empty log: %v %v", got, err)
	}
	var ids []int64
	for i := 0; i < 25; i++ {
		r := store.AuditRecord{Time: t0.Add(time.Duration(i) * time.Minute), Actor: fmt.Sprintf("tok-%d", i%3), Role: store.RoleAdmin,
			Action: "POST /api/v1/meters", Target: fmt.Sprintf("M-%d", i), Status: 201, Remote: "127.0.0.1:5000", Detail: "详情"}
		if i%5 == 4 {
			r.Actor, r.Role, r.Status, r.Action = "", "", 401, "GET /api/v1/meters"
		}
		id, err := s.AppendAudit(ctx, r)
		must(t, err)
		if len(ids) > 0 && id <= ids[len(ids)-1] {
			t.Fatalf("id %d after %d does not grow", id, ids[len(ids)-1])
		}
		ids = append(ids, id)
	}
	all, err := s.AuditLog(ctx, store.AuditQuery{Limit: store.MaxAuditPage + 10})
	must(t, err)
	if len(all) != 25 {
		t.Fatalf("got %d records, want 25", len(all))
	}
	r := all[7]
	if r.ID != ids[7] || !r.Time.Equal(t0.Add(7*time.Minute)) || r.Actor != "tok-1" || r.Role != store.RoleAdmin ||
		r.Action != "POST /api/v1/meters" || r.Target != "M-7" || r.Status != 201 || r.Remote != "127.0.0.1:5000" || r.Detail != "详情" {
		t.Errorf("record 7 = %+v", r)
	}
	if got, err := s.AuditLog(ctx, store.AuditQuery{}); err != nil || len(got) != 25 {
		t.Errorf("default limit: %d records, %v", len(got), err)
	}
	// Paging with the cursor visits every record once, in order.
	var paged []int64
	for after := int64(0); ; {
		page, err := s.AuditLog(ctx, store.AuditQuery{After: after, Limit: 4})
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("page of %d > limit 4", len(page))
		}
		for _, r := range page {
			paged = append(paged, r.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(paged) != fmt.Sprint(ids) {
		t.Errorf("paged ids %v, want %v", paged, ids)
	}
	// Time range [From, To) and actor.
	got, err := s.AuditLog(ctx, store.AuditQuery{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute), Actor: "tok-2"})
	must(t, err)
	var targets []string
	for _, r := range got {
		targets = append(targets, r.Target)
	}
	if fmt.Sprint(targets) != "[M-11 M-17]" { // 10..19 with i%3 == 2, minus i%5 == 4 (14)
		t.Errorf("range and actor: %v", targets)
	}
	for _, bad := range []store.AuditRecord{
		{Action: "x", Status: 200},
		{Time: t0, Status: 200},
		{Time: t0, Action: "x", Status: 42},
		{Time: t0, Action: "x", Status: 200, Target: string(make([]byte, 300))},
	} {
		wantErr(t, fmt.Sprintf("invalid record %+v", bad.Status), errOf(s.AppendAudit(ctx, bad)), store.ErrInvalid)
	}
	if got, _ := s.AuditLog(ctx, store.AuditQuery{Limit: 1000}); len(got) != 25 {
		t.Errorf("invalid records were stored: %d records", len(got))
	}
}
