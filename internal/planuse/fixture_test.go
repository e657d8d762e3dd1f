package planuse

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/waterplan"
)

// world is a province in a real store: n enterprises, a park of every
// other one, each with two level-1 intake points (ground, municipal) and a
// level-2 use point, read every hour from `from` for `hours` hours.
// Enterprise i takes (1+i%3) m³ of ground water and 1 m³ of municipal
// water an hour, and has an annual plan of planPerHour(i)·8760 m³.
type world struct {
	st  *sqlite.Store
	n   int
	ids []string
}

func planPerHour(i int) float64 { return []float64{2.5, 2.0, 5.0}[i%3] } // 3/2.5 = 120 %, 4/2 ... see tests

func buildWorld(tb testing.TB, n int, from time.Time, hours int) *world {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: production.Zone, Sync: sqlite.SyncNormal})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市", Parent: "430000"}))
	must(st.CreatePark(ctx, meter.Park{ID: "PK", Name: "湘潭园区", Region: "430300"}))
	total, _ := meter.StandardChannel("total_m3")
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	w := &world{st: st, n: n}
	var b store.Batch
	var idx uint64
	flush := func() {
		b.LedgerSize = idx
		must(st.Commit(ctx, &b))
		b = store.Batch{}
	}
	var recs []production.Record
	for i := range n {
		e := meter.Enterprise{ID: fmt.Sprintf("E%05d", i), Name: fmt.Sprintf("企业%d", i), Region: "430300", Industry: "3120", Products: []string{"粗钢"}}
		if i%2 == 0 {
			e.Park = "PK"
		}
		must(st.CreateEnterprise(ctx, e))
		w.ids = append(w.ids, e.ID)
		pts := []meter.Point{
			{ID: e.ID + "-G", Enterprise: e.ID, Name: "地下水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total}},
			{ID: e.ID + "-M", Enterprise: e.ID, Name: "自来水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceMunicipal, Channels: []meter.Channel{total}},
			{ID: e.ID + "-U", Enterprise: e.ID, Name: "生产", Level: 2, Stage: meter.StageUse, Parent: e.ID + "-G", Channels: []meter.Channel{total}},
		}
		for k, p := range pts {
			must(st.CreatePoint(ctx, p))
			id := "M" + p.ID
			vkey, err := note.NewEd25519VerifierKey(reading.KeyName(id), pub)
			must(err)
			must(st.CreateMeter(ctx, meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter, Registered: from.Add(-time.Hour), Interval: time.Hour}))
			rate := []float64{float64(1 + i%3), 1, 0.5}[k]
			for h := 0; h <= hours; h++ {
				at := from.Add(time.Duration(h) * time.Hour)
				r := store.Reading{Meter: id, Seq: uint64(h + 1), Time: at, Received: at, Index: idx,
					Values: []store.Value{{Channel: "total_m3", Value: 1000 + rate*float64(h)}}}
				binary.BigEndian.PutUint64(r.Hash[:8], idx+1)
				b.Readings = append(b.Readings, r)
				idx++
				if len(b.Readings) == 20000 {
					flush()
				}
			}
		}
		must(st.PutPlan(ctx, waterplan.SplitEvenly(e.ID, from.In(production.Zone).Year(), planPerHour(i)*8760)))
		y := from.In(production.Zone).Year()
		// Output of 10 t an hour over the whole days metered (records are whole days).
		days := max(1, hours/24)
		recs = append(recs, production.Record{Enterprise: e.ID, Kind: production.Output, Product: "粗钢", Unit: "t", Quantity: 10 * 24 * float64(days),
			From: from, To: from.AddDate(0, 0, days), ReportedBy: "fixture", ReportedAt: from, Note: "synthetic"})
		_ = y
	}
	flush()
	for i := 0; i < len(recs); i += 5000 {
		_, err := st.AddProduction(ctx, recs[i:min(i+5000, len(recs))])
		must(err)
	}
	must(st.Compact(ctx))
	return w
}

// intakeOf is the world's intake points by enterprise.
func intakeOf(tb testing.TB, w *world) map[string][]meter.Point {
	pts, err := w.st.Points(context.Background(), store.Filter{Level: meter.Level1, Stage: meter.StageIntake})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]meter.Point{}
	for _, p := range pts {
		out[p.Enterprise] = append(out[p.Enterprise], p)
	}
	return out
}

// hoursOnly is the store with its pre-totals hidden (the method shadows
// the store's, so hoursOnly is no store.TotalsReader): every hour is read.
type hoursOnly struct{ *sqlite.Store }

func (hoursOnly) ConsumptionTotals() {}
