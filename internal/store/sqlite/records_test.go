package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/rejection"
)

// TestRejectionLogBounded: whatever the number of distinct keys, the log
// keeps the RecentRejections rows seen last.
func TestRejectionLogBounded(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Options{ManualCompaction: true, RecentRejections: 50})
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for b := 0; b < 4; b++ {
		var rejs []rejection.Rejection
		for i := 0; i < 40; i++ {
			n := b*40 + i
			rejs = append(rejs, rejection.Rejection{Time: t0.Add(time.Duration(n) * time.Second), Reason: "bad-credentials", Source: fmt.Sprintf("mqtt:10.0.%d.%d", n/256, n%256)})
		}
		if err := s.Commit(ctx, &store.Batch{Rejections: rejs}); err != nil {
			t.Fatal(err)
		}
	}
	recent, err := s.RecentRejections(ctx, rejection.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 50 || !recent[0].Time.Equal(t0.Add(159*time.Second)) || !recent[49].Time.Equal(t0.Add(110*time.Second)) {
		t.Fatalf("%d rows, newest %v, oldest %v", len(recent), recent[0].Time, recent[len(recent)-1].Time)
	}
	counts, err := s.RejectionCounts(ctx, rejection.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Count != 160 {
		t.Errorf("counts %+v", counts)
	}
}

// TestMigrateRejectionLog opens a version 1 store, whose log has one row per
// refusal, and finds its rows folded by (reason, meter, source).
func TestMigrateRejectionLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	execRaw(t, path,
		`DROP TABLE rejections`,
		`CREATE TABLE rejections (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, meter TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, source TEXT NOT NULL)`,
		`INSERT INTO rejections(t, meter, reason, detail, source) VALUES
			(1000, 'M-1', 'bad-signature', 'first', 'mqtt:10.0.0.1:1'),
			(3000, 'M-1', 'bad-signature', 'last', 'mqtt:10.0.0.1:1'),
			(2000, 'M-1', 'bad-signature', 'middle', 'mqtt:10.0.0.1:1'),
			(4000, '', 'bad-credentials', 'x', 'mqtt:10.0.0.2:7')`,
		`ALTER TABLE points DROP COLUMN roles`,   // added by version 3
		`ALTER TABLE meters DROP COLUMN gateway`, // added by version 5
		`UPDATE meta SET v = 1 WHERE k = 'schema'`,
	)
	s, err = Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recent, err := s.RecentRejections(context.Background(), rejection.Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 2 || recent[0].Reason != "bad-credentials" || recent[1].Count != 3 || recent[1].Detail != "last" ||
		recent[1].First.UnixMilli() != 1000 || recent[1].Time.UnixMilli() != 3000 {
		t.Fatalf("migrated: %+v", recent)
	}
	var v int64
	if err := s.w.QueryRow(`SELECT v FROM meta WHERE k = 'schema'`).Scan(&v); err != nil || v != schemaVersion {
		t.Errorf("schema version %d, %v", v, err)
	}
}
