package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// TestMigratePointRoles opens a version 2 store, whose points have no roles
// column: its points read back without roles, and a point saved after the
// migration keeps its balance roles.
func TestMigratePointRoles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := meter.StandardChannel("total_m3")
	mustDo(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	mustDo(t, s.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	mustDo(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430000", Industry: "3120"}))
	mustDo(t, s.CreatePoint(ctx, meter.Point{ID: "P1", Enterprise: "E", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceSurface, Channels: []meter.Channel{ch}}))
	s.Close()
	execRaw(t, path, `ALTER TABLE points DROP COLUMN roles`, `ALTER TABLE meters DROP COLUMN gateway`, `UPDATE meta SET v = 2 WHERE k = 'schema'`)

	s, err = Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Point(ctx, "P1")
	if err != nil || p.Purpose != "" || p.Stage != meter.StageIntake {
		t.Fatalf("migrated point: %+v, %v", p, err)
	}
	mustDo(t, s.CreatePoint(ctx, meter.Point{ID: "P2", Enterprise: "E", Name: "冷却", Level: meter.Level2, Stage: meter.StageUse,
		Parent: "P1", Purpose: meter.PurposeIndirectCooling, Channels: []meter.Channel{ch}}))
	if p, err := s.Point(ctx, "P2"); err != nil || p.Purpose != meter.PurposeIndirectCooling {
		t.Fatalf("point with roles after migration: %+v, %v", p, err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// execRaw runs statements on a closed store's database file, bypassing the
// store: how a test makes a store of an older schema version.
func execRaw(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMigrateManagement opens a version 3 store, which has no production
// records or retrofit cases: after the migration it keeps both.
func TestMigrateManagement(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	mustDo(t, s.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	mustDo(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430000", Industry: "1713"}))
	s.Close()
	execRaw(t, path, `DROP TABLE production`, `DROP TABLE quota_cases`, `DROP TABLE quota_case_events`,
		`ALTER TABLE meters DROP COLUMN gateway`, `DROP TABLE gateways`, `DROP TABLE gateway_devices`, `UPDATE meta SET v = 3 WHERE k = 'schema'`)

	s, err = Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int64
	if err := s.w.QueryRow(`SELECT v FROM meta WHERE k = 'schema'`).Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("schema version after migration: %d %v", v, err)
	}
	zone := production.Zone
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, zone)
	if _, err := s.AddProduction(ctx, []production.Record{{Enterprise: "E", Kind: production.Output, Product: "机织印染布", Quantity: 900, Unit: "100m",
		From: from, To: from.AddDate(0, 1, 0), ReportedBy: "tok", ReportedAt: from}}); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.ProductionRecords(ctx, production.Filter{}); err != nil || len(recs) != 1 {
		t.Fatalf("records after migration: %v %v", recs, err)
	}
	if cs, err := s.QuotaCases(ctx, quotacase.Filter{}); err != nil || len(cs) != 0 {
		t.Fatalf("cases after migration: %v %v", cs, err)
	}
}

// TestMigrateAboveScale opens a version 5 store, whose enterprises have no
// above-scale column: they read back not above scale, and the flag set after
// the migration is kept.
func TestMigrateAboveScale(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, s.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	mustDo(t, s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Region: "430000", Industry: "3120", AboveScale: true}))
	s.Close()
	execRaw(t, path, `ALTER TABLE enterprises DROP COLUMN above_scale`, `UPDATE meta SET v = 5 WHERE k = 'schema'`)

	s, err = Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Enterprise(ctx, "E")
	if err != nil || e.AboveScale || e.Name != "企业" {
		t.Fatalf("migrated enterprise: %+v, %v", e, err)
	}
	e.AboveScale = true
	mustDo(t, s.UpdateEnterprise(ctx, e))
	if e, err = s.Enterprise(ctx, "E"); err != nil || !e.AboveScale {
		t.Fatalf("above-scale flag after migration: %+v, %v", e, err)
	}
}
