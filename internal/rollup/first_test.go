package rollup

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/reading"
)

// withoutFirst is a store that does not tell its points' first readings
// (store.FirstReader): every year is read, as before there was a way to
// know. Its pre-totals are read as the store's.
type withoutFirst struct {
	Source
	store.TotalsReader
}

func hideFirst(st *sqlite.Store) withoutFirst { return withoutFirst{st, st} }

// TestFirstReadingSameSnapshot: skipping the years before each
// enterprise's first reading gives the snapshot of the full read, figure
// for figure, while reading fewer series. The province's meters start on
// 2023-12-31 at 22:00 (a partial 2023 window, then 2024); one more
// enterprise has an interval-total point whose first value is stamped at
// 2025-01-01 00:00 local — it belongs to 2024's last hour, so 2024 is read
// for it — and a totaliser starting in June 2025; 2021 is declared.
func TestFirstReadingSameSnapshot(t *testing.T) {
	ctx := context.Background()
	from := time.Date(2023, 12, 31, 22, 0, 0, 0, production.Zone)
	for _, compact := range []bool{false, true} {
		st := buildProvince(t, provinceConfig{Enterprises: 6, Points: 5, From: from, Steps: 24, Step: 15 * time.Minute,
			Compact: compact, Declared: []int{2021}, ValueAdded: 10})
		late(t, st, compact)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, production.Zone)
		got, err := Compute(ctx, st, 2026, now, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := Compute(ctx, hideFirst(st), 2026, now, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Figures, want.Figures) || !reflect.DeepEqual(got.Tree, want.Tree) || !reflect.DeepEqual(got.Enterprises, want.Enterprises) {
			t.Errorf("compact %v: the snapshot differs from the full read:\n%+v\n%+v", compact, got.Figures, want.Figures)
		}
		if got.Series >= want.Series {
			t.Errorf("compact %v: %d series read, %d by the full read", compact, got.Series, want.Series)
		}
		if f, ok := got.Figures[2025]["ELATE"]; !ok || !f.Intake.OK {
			t.Errorf("compact %v: ELATE 2025: %+v", compact, f)
		}
		if len(got.Figures[2023]) == 0 || len(got.Figures[2022]) != 0 {
			t.Errorf("compact %v: 2023 %d, 2022 %d enterprises with figures", compact, len(got.Figures[2023]), len(got.Figures[2022]))
		}
	}
}

// late adds enterprise ELATE: an intake of interval totals (7 m³ stamped
// 2025-01-01 00:00, then 1 m³ every 15 minutes) and a discharge totaliser
// from June 2025.
func late(t *testing.T, st *sqlite.Store, compact bool) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	total, _ := meter.StandardChannel("total_m3")
	vol := meter.Channel{Name: "vol15_m3", Quantity: "volume", Unit: "m3", Kind: meter.Interval, Min: 0, Max: 1e6}
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "ELATE", Name: "晚到", Industry: "3120", Region: "430100"}))
	pts := []meter.Point{
		{ID: "ELATE-IN", Enterprise: "ELATE", Name: "取水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{vol}},
		{ID: "ELATE-OUT", Enterprise: "ELATE", Name: "排水", Level: 1, Stage: meter.StageDischarge, Channels: []meter.Channel{total}},
	}
	starts := []time.Time{time.Date(2025, 1, 1, 0, 0, 0, 0, production.Zone), time.Date(2025, 6, 1, 8, 0, 0, 0, production.Zone)}
	var b store.Batch
	idx := uint64(1 << 40)
	for i, p := range pts {
		must(st.CreatePoint(ctx, p))
		id := "M" + p.ID
		must(st.CreateMeter(ctx, meter.Meter{ID: id, Point: p.ID, Key: fixtureKey(t, id), Signed: meter.SignedByMeter, Registered: starts[0].AddDate(0, -1, 0), Interval: 15 * time.Minute}))
		for k := range 8 {
			at := starts[i].Add(time.Duration(k) * 15 * time.Minute)
			v := store.Value{Channel: p.Channels[0].Name, Value: 1}
			if i == 0 && k == 0 {
				v.Value = 7
			}
			if i == 1 {
				v.Value = 500 + float64(k)
			}
			r := store.Reading{Meter: id, Seq: uint64(k + 1), Time: at, Received: at, Index: idx, Values: []store.Value{v}}
			binary.BigEndian.PutUint64(r.Hash[:8], idx+1)
			b.Readings = append(b.Readings, r)
			idx++
		}
	}
	b.LedgerSize = idx
	must(st.Commit(ctx, &b))
	if compact {
		must(st.Compact(ctx))
	}
}

// fixtureKey is a verifier key under meter id's name (nothing here is
// signed).
func fixtureKey(t *testing.T, id string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := note.NewEd25519VerifierKey(reading.KeyName(id), pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
