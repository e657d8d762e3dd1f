package rollup

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// TestPreTotalsSameFigures: the roll-up's metered figures read from the
// store's day and month pre-totals (cut exactly where the metered window
// starts or ends inside a day) are those read hour by hour, to the last
// bit: window, volumes, coverage, indicators — on meters that start and
// stop mid-day on different days, with gaps of hours and days, register
// resets, readings arriving late, over whole and ragged periods — and so
// are those read without pre-totals, the months and days without value at
// once (periodvol.Fill).
func TestPreTotalsSameFigures(t *testing.T) {
	ctx := context.Background()
	st := buildProvince(t, provinceConfig{Enterprises: 6, Points: 6, From: monthFrom, Steps: 0, Step: 15 * time.Minute, Compact: false, ValueAdded: 10})
	pts, err := st.Points(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 9))
	idx := uint64(1 << 20)
	var late []store.Reading
	var batch []store.Reading
	for i, p := range pts {
		id := "M" + p.ID
		// From a random quarter-hour of October 1–4 to one of October 26–31
		// (some run into November).
		start := monthFrom.Add(time.Duration(r.IntN(4*96)) * 15 * time.Minute)
		end := monthFrom.AddDate(0, 0, 25).Add(time.Duration(r.IntN(8*96)) * 15 * time.Minute)
		if i < 6 && i%5 == 0 {
			start = monthFrom // the first enterprise's from the period's first instant
		}
		if i%7 == 3 || i/6 == 2 {
			// The last reading at a local midnight: for the third
			// enterprise, every point's, so its window ends inside a day
			// with a total.
			end = monthFrom.AddDate(0, 0, 26)
		}
		v, seq := 1000.0, uint64(1)
		for at := start; !at.After(end); at = at.Add(15 * time.Minute) {
			if r.IntN(300) == 0 {
				at = at.Add(time.Duration(1+r.IntN(40)) * time.Hour) // a gap
			}
			v += float64(r.IntN(400)) / 100
			if r.IntN(900) == 0 {
				v = float64(r.IntN(50)) / 10 // a register reset
			}
			seq++
			idx++
			rd := store.Reading{Meter: id, Seq: seq, Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: v}}}
			binary.BigEndian.PutUint64(rd.Hash[:8], idx)
			if r.IntN(60) == 0 {
				late = append(late, rd)
				continue
			}
			batch = append(batch, rd)
		}
	}
	commit := func(rs []store.Reading) {
		for i := 0; i < len(rs); i += 5000 {
			if err := st.Commit(ctx, &store.Batch{Readings: rs[i:min(i+5000, len(rs))], LedgerSize: idx}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Late readings arrive after the rest was compacted: they carry
	// higher sequence numbers than the readings stored.
	commit(batch)
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range late {
		late[i].Seq += 1 << 20
	}
	commit(late)
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	ents, err := st.Enterprises(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	points := map[string][]meter.Point{}
	var ids []string
	for _, e := range ents {
		ids = append(ids, e.ID)
	}
	for _, p := range pts {
		points[p.Enterprise] = append(points[p.Enterprise], p)
	}
	recs, err := st.ProductionRecords(ctx, production.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byEnt := map[string][]production.Record{}
	for _, rc := range recs {
		byEnt[rc.Enterprise] = append(byEnt[rc.Enterprise], rc)
	}
	periods := [][2]time.Time{
		{monthFrom, monthFrom.AddDate(0, 1, 0)},
		{monthFrom.AddDate(0, 0, 2).Add(5 * time.Hour), monthFrom.AddDate(0, 0, 27).Add(13*time.Hour + 37*time.Minute)},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone), monthFrom.AddDate(0, 0, 20).Add(13*time.Hour + 37*time.Minute)},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone), time.Date(2027, 1, 1, 0, 0, 0, 0, production.Zone)},
	}
	compared, cut := 0, 0
	for _, p := range periods {
		read := func(src Source, opts Options) map[string]Metered {
			out := map[string]Metered{}
			if _, err := MeteredAll(ctx, src, ids, points, byEnt, p[0], p[1], opts, func(id string, m Metered) { out[id] = m }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		totals, hours, every := read(st, Options{}), read(hoursOnly{st}, Options{}), read(everyHour{hoursOnly{st}}, Options{})
		// A snapshot's headline balance gives the same target years.
		for id, m := range read(st, Options{Headline: true}) {
			if y, want := m.Year(2026), totals[id].Year(2026); !reflect.DeepEqual(y, want) {
				t.Errorf("%v %s: headline year %+v, full %+v", p, id, y, want)
			}
		}
		if len(every) == 0 || len(totals) != len(every) || len(hours) != len(every) {
			t.Fatalf("%v: %d enterprises from totals, %d without, %d hour by hour", p, len(totals), len(hours), len(every))
		}
		for id, h := range every {
			if !reflect.DeepEqual(totals[id], h) {
				t.Errorf("%v %s:\nfrom totals %+v\nhour by hour %+v", p, id, totals[id], h)
			}
			if !reflect.DeepEqual(hours[id], h) {
				t.Errorf("%v %s:\nempty months and days at once %+v\nhour by hour %+v", p, id, hours[id], h)
			}
			compared++
			if h.From.Hour() != 0 || h.To.Hour() != 0 {
				cut++
			}
		}
	}
	// The pre-totals were there to be used.
	sts, err := st.ConsumptionTotals(ctx, store.ConsumptionQuery{Series: []store.Series{{Point: pts[0].ID, Channel: "total_m3"}}, From: periods[0][0], To: periods[0][1], Interval: store.Hour})
	if err != nil || len(sts[0].Totals) == 0 {
		t.Fatalf("no pre-totals: %v", err)
	}
	if cut == 0 {
		t.Fatal("no metered window starts or ends inside a day")
	}
	t.Logf("%d enterprise-periods compared, %d windows cut inside a day; %d totals for %s in October", compared, cut, len(sts[0].Totals), pts[0].ID)
}

// everyHour has periodvol.Fill read every hour: it answers every month and
// day as having a value, so none is taken as empty.
type everyHour struct{ hoursOnly }

func (e everyHour) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	res, err := e.Store.Consumption(ctx, q)
	if q.Interval != store.Hour {
		for _, sb := range res {
			for i := range sb.Buckets {
				sb.Buckets[i].Valid = true
			}
		}
	}
	return res, err
}
