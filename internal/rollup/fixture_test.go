package rollup

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
)

// provinceConfig shapes a synthetic province in a real store.
type provinceConfig struct {
	Enterprises int
	Points      int           // per enterprise, at least 5
	From        time.Time     // first reading
	Steps       int           // readings per meter after the first
	Step        time.Duration // between readings
	Compact     bool          // move the readings into chunks and hour rollups
	// CompactEvery compacts after every so many enterprises as well (0:
	// only at the end), bounding the store's in-memory head.
	CompactEvery int
	Declared     []int // years with declared statistics for every enterprise
	// ValueAdded is each enterprise's value added per day over the metered
	// days (one record per calendar month touched), 10⁴ CNY.
	ValueAdded float64
}

// rate is point i's volume per step (m³): intake points 0 (ground, 1) and 1
// (reclaimed, 2), discharge 2 (3), recirculation 4 (2) in the level-2 use 3,
// level-2 uses 3 and 5…
func rate(i int) float64 { return float64(1 + i%3) }

// The point layout of every enterprise of the province.
func enterprisePoints(ent string, n int) []meter.Point {
	total, _ := meter.StandardChannel("total_m3")
	var pts []meter.Point
	for i := range n {
		p := meter.Point{ID: fmt.Sprintf("%s-P%03d", ent, i), Enterprise: ent, Name: "点", Channels: []meter.Channel{total}}
		switch i {
		case 0:
			p.Level, p.Stage, p.Source = 1, meter.StageIntake, meter.SourceGround
		case 1:
			p.Level, p.Stage, p.Source = 1, meter.StageIntake, meter.SourceReclaimed
		case 2:
			p.Level, p.Stage = 1, meter.StageDischarge
		case 4:
			p.Level, p.Stage, p.Parent = 3, meter.StageRecirculation, fmt.Sprintf("%s-P%03d", ent, 3)
		default:
			p.Level, p.Stage, p.Parent = 2, meter.StageUse, fmt.Sprintf("%s-P%03d", ent, 0)
		}
		pts = append(pts, p)
	}
	return pts
}

// Per step, an enterprise takes 3 m³ (2 of them reclaimed) and recirculates 2.
const (
	intakePerStep = 3.0
	ncPerStep     = 2.0
	reusePerStep  = 2.0
)

// buildProvince registers cfg.Enterprises enterprises over Hunan's cities,
// a quarter outside parks, ten parks, industries 3120 (粗钢) and 1513 (啤酒);
// every point gets its own meter reporting its total every Step, committed
// straight to the store (not through the ledger). Declared statistics and
// value added go in as production records.
func buildProvince(tb testing.TB, cfg provinceConfig) *sqlite.Store {
	tb.Helper()
	return buildProvinceAt(tb, cfg, filepath.Join(tb.TempDir(), "s.db"))
}

// buildProvinceAt builds the province in the store file at path.
func buildProvinceAt(tb testing.TB, cfg provinceConfig, path string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(path, sqlite.Options{ManualCompaction: true, Location: production.Zone, Sync: sqlite.SyncNormal})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	fillProvince(tb, cfg, st)
	return st
}

// provinceStore is what fillProvince writes through: either driver.
type provinceStore interface {
	store.Store
	store.Compacter
}

// fillProvince writes the province of cfg into st.
func fillProvince(tb testing.TB, cfg provinceConfig, st provinceStore) {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			tb.Helper()
			tb.Fatal(err)
		}
	}
	cities := meter.HunanRegions()
	for _, r := range cities {
		must(st.CreateRegion(ctx, r))
	}
	cities = cities[1:]
	for k := range 10 {
		must(st.CreatePark(ctx, meter.Park{ID: fmt.Sprintf("PK%02d", k), Name: fmt.Sprintf("园区%d", k), Region: cities[k%len(cities)].Code}))
	}
	var b store.Batch
	var idx uint64
	flush := func() {
		b.LedgerSize = idx
		must(st.Commit(ctx, &b))
		b = store.Batch{}
	}
	// One key pair for every meter, its verifier key under each meter's
	// name: no reading here is signed, and generating a key per meter
	// would cost more than the readings.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	var recs []production.Record
	reported := cfg.From
	for e := range cfg.Enterprises {
		ent := meter.Enterprise{ID: fmt.Sprintf("E%05d", e), Name: fmt.Sprintf("企业%d", e), Industry: "3120", Products: []string{"粗钢"}}
		ent.AboveScale = e%3 != 2 // E00002 and E00005 of 8 are below scale
		product, unit := "粗钢", "t"
		if e%2 == 1 {
			ent.Industry, ent.Products, product, unit = "1513", []string{"啤酒"}, "啤酒", "kL"
		}
		if e%4 == 0 {
			ent.Region = cities[e%len(cities)].Code
		} else {
			k := e % 10
			ent.Park, ent.Region = fmt.Sprintf("PK%02d", k), cities[k%len(cities)].Code
		}
		must(st.CreateEnterprise(ctx, ent))
		for i, p := range enterprisePoints(ent.ID, cfg.Points) {
			must(st.CreatePoint(ctx, p))
			id := fmt.Sprintf("M%s", p.ID)
			vkey, err := note.NewEd25519VerifierKey(reading.KeyName(id), pub)
			must(err)
			must(st.CreateMeter(ctx, meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter, Registered: cfg.From.Add(-time.Hour), Interval: cfg.Step}))
			for k := 0; k <= cfg.Steps; k++ {
				at := cfg.From.Add(time.Duration(k) * cfg.Step)
				r := store.Reading{Meter: id, Seq: uint64(k + 1), Time: at, Received: at, Index: idx,
					Values: []store.Value{{Channel: "total_m3", Value: 1000 + rate(i)*float64(k)}}}
				binary.BigEndian.PutUint64(r.Hash[:8], idx+1)
				b.Readings = append(b.Readings, r)
				idx++
				if len(b.Readings) == 20000 {
					flush()
				}
			}
		}
		if cfg.Compact && cfg.CompactEvery > 0 && (e+1)%cfg.CompactEvery == 0 {
			flush()
			must(st.Compact(ctx))
		}
		rec := func(kind production.Kind, q float64, unit, prod string, from, to time.Time) {
			recs = append(recs, production.Record{Enterprise: ent.ID, Kind: kind, Quantity: q, Unit: unit, Product: prod,
				From: from, To: to, ReportedBy: "fixture", ReportedAt: reported, Note: "declared (synthetic)"})
		}
		for _, y := range cfg.Declared {
			from, to := time.Date(y, 1, 1, 0, 0, 0, 0, production.Zone), time.Date(y+1, 1, 1, 0, 0, 0, 0, production.Zone)
			f := float64(1 + e%5)
			rec(production.Intake, 1e5*f, production.UnitVolume, "", from, to)
			rec(production.Reuse, 9e5*f, production.UnitVolume, "", from, to)
			rec(production.NonConventional, 1e4*f, production.UnitVolume, "", from, to)
			rec(production.ValueAdded, 2e3*f, production.UnitValueAdded, "", from, to)
			rec(production.Output, 3e4*f, unit, product, from, to)
		}
		if cfg.ValueAdded > 0 {
			// One record per calendar month of the metered span.
			end := cfg.From.Add(time.Duration(cfg.Steps) * cfg.Step)
			m := time.Date(cfg.From.In(production.Zone).Year(), cfg.From.In(production.Zone).Month(), 1, 0, 0, 0, 0, production.Zone)
			for ; m.Before(end); m = m.AddDate(0, 1, 0) {
				days := float64(production.Days(m, m.AddDate(0, 1, 0)))
				rec(production.ValueAdded, cfg.ValueAdded*days, production.UnitValueAdded, "", m, m.AddDate(0, 1, 0))
				rec(production.Output, 100*days, unit, product, m, m.AddDate(0, 1, 0))
			}
		}
	}
	flush()
	for i := 0; i < len(recs); i += 5000 {
		_, err := st.AddProduction(ctx, recs[i:min(i+5000, len(recs))])
		must(err)
	}
	if cfg.Compact {
		must(st.Compact(ctx))
	}
}
