// Package efficiencytest builds enterprises of known shapes in a real
// store and feeds their meters totaliser readings whose volumes over a
// period are known, for the tests of internal/efficiency and internal/api.
package efficiencytest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Zone is UTC+8, the zone of balance periods.
var Zone = time.FixedZone("CST", 8*3600)

// Day returns local midnight of y-m-d in Zone.
func Day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, Zone) }

// Point returns a volume point of enterprise e.
func Point(e, id string, level meter.Level, stage meter.Stage, src meter.Source, parent string) meter.Point {
	total, _ := meter.StandardChannel("total_m3")
	return meter.Point{ID: id, Enterprise: e, Name: id, Level: level, Stage: stage, Source: src, Parent: parent, Channels: []meter.Channel{total}}
}

// With sets the optional balance fields of a point.
func With(p meter.Point, f func(p *meter.Point)) meter.Point { f(&p); return p }

// WorkedExample is the worked example of reference/standards.md §1.4 as
// enterprise e's points with the volume of each over one day: Vi = 1000
// (900 ground, 100 reclaimed), Vr = 19000, Vd = 300, Vw = 100, Vl = 20,
// Vco = 680.
func WorkedExample(e string) ([]meter.Point, map[string]float64) {
	purpose := func(u meter.Purpose) func(*meter.Point) { return func(p *meter.Point) { p.Purpose = u } }
	pts := []meter.Point{
		Point(e, e+"-IN-GW", 1, meter.StageIntake, meter.SourceGround, ""),
		Point(e, e+"-IN-RC", 1, meter.StageIntake, meter.SourceReclaimed, ""),
		With(Point(e, e+"-U-A", 2, meter.StageUse, "", e+"-IN-GW"), purpose(meter.PurposeIndirectCooling)),
		With(Point(e, e+"-U-B", 2, meter.StageUse, "", e+"-IN-GW"), purpose(meter.PurposeProcess)),
		Point(e, e+"-A-RECIRC", 3, meter.StageRecirculation, "", e+"-U-A"),
		With(Point(e, e+"-A-TO-B", 3, meter.StageCascade, "", e+"-U-B"), func(p *meter.Point) { p.From = e + "-U-A" }),
		With(Point(e, e+"-B-WW", 3, meter.StageCascade, "", e+"-U-B"), func(p *meter.Point) { p.Reuse = meter.ReuseWastewater }),
		With(Point(e, e+"-A-EVAP", 3, meter.StageDischarge, "", e+"-U-A"), func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		Point(e, e+"-A-DRAIN", 3, meter.StageDischarge, "", e+"-U-A"),
		With(Point(e, e+"-B-PROD", 3, meter.StageDischarge, "", e+"-U-B"), func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		Point(e, e+"-B-DRAIN", 3, meter.StageDischarge, "", e+"-U-B"),
		Point(e, e+"-OUTFALL", 1, meter.StageDischarge, "", ""),
	}
	vol := map[string]float64{"IN-GW": 900, "IN-RC": 100, "U-A": 700, "U-B": 280, "A-RECIRC": 18800, "A-TO-B": 100,
		"B-WW": 100, "A-EVAP": 500, "A-DRAIN": 100, "B-PROD": 180, "B-DRAIN": 300, "OUTFALL": 300}
	out := map[string]float64{}
	for k, v := range vol {
		out[e+"-"+k] = v
	}
	return pts, out
}

// Register creates region 430000 (and the enterprise's city), park PK if
// missing, the enterprise and its points, each with one meter "M-" + point.
func Register(t testing.TB, st store.Registry, e meter.Enterprise, points []meter.Point) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Region(ctx, "430000"); err != nil {
		must(t, st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省", NameEN: "Hunan"}))
	}
	city := e.Region[:4] + "00"
	if _, err := st.Region(ctx, city); err != nil && city != "430000" {
		must(t, st.CreateRegion(ctx, meter.Region{Code: city, Name: city, Parent: "430000"}))
	}
	if e.Park != "" {
		if _, err := st.Park(ctx, e.Park); err != nil {
			must(t, st.CreatePark(ctx, meter.Park{ID: e.Park, Name: e.Park, Region: city}))
		}
	}
	must(t, st.CreateEnterprise(ctx, e))
	for _, p := range points {
		must(t, st.CreatePoint(ctx, p))
		id := "M-" + p.ID
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		must(t, err)
		must(t, st.CreateMeter(ctx, meter.Meter{ID: id, Point: p.ID, Key: vkey, Signed: meter.SignedByMeter,
			Registered: Day(2020, 1, 1), Interval: time.Hour}))
	}
}

// Feeder commits totaliser readings, keeping each meter's register, seq
// and the ledger index.
type Feeder struct {
	St    store.Ingester
	idx   uint64
	seq   map[string]uint64
	total map[string]float64
}

// Feed commits, for each point, a reading every step from from to to
// (both included) whose register grows by rate(point, t) m³ per hour over
// each step (rate evaluated at the step's start): the point's volume over
// [from, to) is the sum of rate × step. A point whose rate is negative at
// a step gets no reading there.
func (f *Feeder) Feed(t testing.TB, points []string, from, to time.Time, step time.Duration, rate func(point string, at time.Time) float64) {
	t.Helper()
	if f.seq == nil {
		f.seq, f.total = map[string]uint64{}, map[string]float64{}
	}
	var b store.Batch
	flush := func() {
		b.LedgerSize = f.idx
		must(t, f.St.Commit(context.Background(), &b))
		b = store.Batch{}
	}
	for _, p := range points {
		m := "M-" + p
		if _, ok := f.total[m]; !ok {
			f.total[m] = 1000
		}
		for at := from; !at.After(to); at = at.Add(step) {
			if at.After(from) {
				r := rate(p, at.Add(-step))
				if r < 0 {
					continue
				}
				f.total[m] += r * step.Hours()
			}
			f.seq[m]++
			rd := store.Reading{Meter: m, Seq: f.seq[m], Time: at, Received: at, Index: f.idx,
				Values: []store.Value{{Channel: "total_m3", Value: f.total[m]}}}
			h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(m), f.seq[m]))
			rd.Hash = h
			b.Readings = append(b.Readings, rd)
			f.idx++
			if len(b.Readings) == 5000 {
				flush()
			}
		}
	}
	flush()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
