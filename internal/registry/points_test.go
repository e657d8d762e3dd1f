package registry

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

var volume = meter.Channel{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9}

// pointEntries returns the point entries in the ledger, in ledger order.
func pointEntries(t *testing.T, lg *ledger.Log) []*reading.PointEntry {
	t.Helper()
	return logEntries(t, lg, reading.PointHeader, reading.ParsePointEntry)
}

// logEntries returns the ledger's entries of one kind (their first line
// is header), in ledger order, each checked to be signed by the log key.
func logEntries[T any](t *testing.T, lg *ledger.Log, header string, parse func([]byte) (T, error)) []T {
	t.Helper()
	ctx := context.Background()
	size, err := lg.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := note.NewVerifier(lg.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	err = lg.Entries(ctx, 0, size, func(_ uint64, e []byte) error {
		if reading.Kind(e) != header {
			return nil
		}
		if _, err := note.Open(e, note.VerifierList(logKey)); err != nil {
			t.Errorf("%s entry not signed by the log key: %v", header, err)
		}
		v, err := parse(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPointsGoOnTheLedgerThenInTheRegistry(t *testing.T) {
	ms, st, lg, _ := setup(t)
	ps := &Points{Store: st, Ledger: lg, Ingest: ms.Ingest, Now: ms.Now}
	ctx := context.Background()
	unit := meter.Point{ID: "PT-2", Enterprise: "EN", Name: "循环水", Level: meter.Level2, Stage: meter.StageRecirculation,
		Parent: "PT-1", Purpose: meter.PurposeIndirectCooling, Channels: []meter.Channel{volume}}
	idx, err := ps.Create(ctx, unit)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Point(ctx, "PT-2"); err != nil || !reflect.DeepEqual(got, unit) {
		t.Fatalf("store: %+v, %v", got, err)
	}
	unit.Reuse, unit.Name = meter.ReuseRecirculated, "循环水系统"
	idx2, err := ps.Update(ctx, unit)
	if err != nil || idx2 <= idx {
		t.Fatalf("update: index %d after %d, %v", idx2, idx, err)
	}
	if got, _ := st.Point(ctx, "PT-2"); !reflect.DeepEqual(got, unit) {
		t.Fatalf("store after update: %+v", got)
	}
	if idx3, err := ps.Update(ctx, unit); err != nil || idx3 != 0 {
		t.Fatalf("an unchanged point: index %d, %v", idx3, err)
	}
	entries := pointEntries(t, lg)
	if len(entries) != 2 {
		t.Fatalf("%d point entries, want 2", len(entries))
	}
	if p, err := meter.PointOf(entries[1]); err != nil || !reflect.DeepEqual(p, unit) {
		t.Fatalf("latest entry makes %+v (%v), want %+v", p, err, unit)
	}

	for name, tc := range map[string]struct {
		p      meter.Point
		create bool
		want   error
	}{
		"exists":            {unit, true, store.ErrExists},
		"no such point":     {meter.Point{ID: "PT-9", Enterprise: "EN", Level: 2, Stage: meter.StageUse, Channels: []meter.Channel{volume}}, false, store.ErrNotFound},
		"no enterprise":     {meter.Point{ID: "PT-9", Enterprise: "EX", Level: 2, Stage: meter.StageUse, Channels: []meter.Channel{volume}}, true, store.ErrNotFound},
		"no parent":         {meter.Point{ID: "PT-9", Enterprise: "EN", Level: 2, Stage: meter.StageUse, Parent: "PT-8", Channels: []meter.Channel{volume}}, true, store.ErrNotFound},
		"invalid":           {meter.Point{ID: "PT-9", Enterprise: "EN", Level: 4, Stage: meter.StageUse, Channels: []meter.Channel{volume}}, true, ErrInvalid},
		"moves":             {func() meter.Point { p := unit; p.Enterprise = "EN2"; return p }(), false, ErrConflict},
		"parent is itself":  {func() meter.Point { p := unit; p.Parent = "PT-2"; return p }(), false, ErrInvalid},
		"unit quoted wrong": {meter.Point{ID: "PT-9", Enterprise: "EN", Level: 2, Stage: meter.StageUse, Channels: []meter.Channel{{Name: "Bad", Kind: meter.Total, Unit: "m3"}}}, true, ErrInvalid},
	} {
		var err error
		if tc.create {
			_, err = ps.Create(ctx, tc.p)
		} else {
			_, err = ps.Update(ctx, tc.p)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if n := len(pointEntries(t, lg)); n != 2 {
		t.Fatalf("refused requests reached the ledger: %d point entries", n)
	}
}

func TestMigratePutsStoredPointsOnTheLedgerOnce(t *testing.T) {
	ms, st, lg, _ := setup(t)
	ctx := context.Background()
	// Registered before points were ledger entries, straight in the store;
	// the child's ID sorts before its parent's.
	child := meter.Point{ID: "PT-0", Enterprise: "EN", Name: "车间", Level: meter.Level2, Stage: meter.StageUse, Parent: "PT-1",
		Purpose: meter.PurposeProcess, Channels: []meter.Channel{volume}}
	if err := st.CreatePoint(ctx, child); err != nil {
		t.Fatal(err)
	}
	ps := &Points{Store: st, Ledger: lg, Ingest: ms.Ingest, Now: ms.Now}
	n, err := ps.Migrate(ctx, lg)
	if err != nil || n != 2 {
		t.Fatalf("migrate: %d, %v; want 2", n, err)
	}
	entries := pointEntries(t, lg)
	if len(entries) != 2 || entries[0].Point != "PT-1" || entries[1].Point != "PT-0" {
		t.Fatalf("entries %v, want the parent PT-1 before PT-0", entries)
	}
	if n, err := ps.Migrate(ctx, lg); err != nil || n != 0 {
		t.Fatalf("second migration: %d, %v; want 0", n, err)
	}

	// A store rebuilt from the ledger gets the points back, in ledger order.
	fresh, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, err := range []error{
		fresh.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		fresh.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
		fresh.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	logKey, _ := note.NewVerifier(lg.VerifierKey())
	applied, quarantined, err := ingest.CatchUp(ctx, lg, fresh, logKey, ingest.NewDirectory(), ingest.Policy{}, nil, nil, ms.Now(), nil)
	if err != nil || applied != 2 || len(quarantined) != 0 {
		t.Fatalf("catch-up: %d applied, %v quarantined, %v", applied, quarantined, err)
	}
	for _, want := range []string{"PT-0", "PT-1"} {
		old, _ := st.Point(ctx, want)
		if got, err := fresh.Point(ctx, want); err != nil || !reflect.DeepEqual(got, old) {
			t.Errorf("rebuilt %s: %+v, %v; want %+v", want, got, err, old)
		}
	}
}
