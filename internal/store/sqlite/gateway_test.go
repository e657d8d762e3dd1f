package sqlite

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestGatewayMigration: a version 3 store (no meters.gateway column)
// migrates; the rest of gateways and mappings is in storetest.
func TestGatewayMigration(t *testing.T) {
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
	_, mkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("M-OLD"))
	mustDo(t, s.CreateMeter(ctx, meter.Meter{ID: "M-OLD", Point: "P1", Key: mkey, Signed: meter.SignedByMeter}))
	s.Close()
	execRaw(t, path, `ALTER TABLE meters DROP COLUMN gateway`, `DROP TABLE gateways`, `DROP TABLE gateway_devices`, `UPDATE meta SET v = 3 WHERE k = 'schema'`)

	s, err = Open(path, Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m, err := s.Meter(ctx, "M-OLD"); err != nil || m.Gateway != "" || m.Trust() != reading.TrustMeter {
		t.Fatalf("migrated meter: %+v, %v", m, err)
	}
}
