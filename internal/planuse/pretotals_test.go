package planuse

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/production"
)

// countingTotals is the store, counting the pre-totals it answers.
type countingTotals struct {
	*sqlite.Store
	n *atomic.Int64
}

func (c countingTotals) ConsumptionTotals(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesTotals, error) {
	sts, err := c.Store.ConsumptionTotals(ctx, q)
	for _, st := range sts {
		c.n.Add(int64(len(st.Totals)))
	}
	return sts, err
}

// TestPreTotalsSameBoard: the board read from the store's day and month
// pre-totals (closed months whole, the current month's closed days one by
// one, today hour by hour) is the board read hour by hour, to the last bit
// — on meters that start mid-day, with gaps of hours and days, register
// resets and readings arriving after compaction (which drop the totals
// they fall in) — on a cold start and on a recomputation from what was
// kept, and the pre-totals were there to be used.
func TestPreTotalsSameBoard(t *testing.T) {
	ctx := context.Background()
	w := buildWorld(t, 4, jan, 0) // enterprises, points, meters, plans; one reading each
	pts, err := w.st.Points(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 3, 11, 12, 0, 0, 0, production.Zone)
	r := rand.New(rand.NewPCG(7, 11))
	idx := uint64(1 << 20)
	var batch, late []store.Reading
	for _, p := range pts {
		v, seq := 2000.0, uint64(1)
		// From a random quarter-hour of the first ten days of January.
		for at := jan.Add(time.Duration(1+r.IntN(10*96)) * 15 * time.Minute); at.Before(end); at = at.Add(15 * time.Minute) {
			if r.IntN(400) == 0 {
				at = at.Add(time.Duration(1+r.IntN(60)) * time.Hour) // a gap
			}
			v += float64(r.IntN(300)) / 100
			if r.IntN(2000) == 0 {
				v = float64(r.IntN(50)) / 10 // a register reset
			}
			seq++
			idx++
			rd := store.Reading{Meter: "M" + p.ID, Seq: seq, Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: v}}}
			binary.BigEndian.PutUint64(rd.Hash[:8], idx)
			if r.IntN(80) == 0 {
				late = append(late, rd)
				continue
			}
			batch = append(batch, rd)
		}
	}
	commit := func(rs []store.Reading) {
		for i := 0; i < len(rs); i += 5000 {
			must(t, w.st.Commit(ctx, &store.Batch{Readings: rs[i:min(i+5000, len(rs))], LedgerSize: idx}))
		}
		must(t, w.st.Compact(ctx))
	}
	commit(batch)
	for i := range late {
		late[i].Seq += 1 << 20 // stored after the rest was compacted
	}
	commit(late)

	var used atomic.Int64
	src := countingTotals{w.st, &used}
	memo := &pastMonths{}
	for _, now := range []time.Time{end.Add(7 * time.Minute), end.Add(2*time.Hour + 31*time.Minute)} {
		got, err := compute(ctx, src, 2026, now, Options{BatchSeries: 3}, memo)
		must(t, err)
		want, err := compute(ctx, hoursOnly{w.st}, 2026, now, Options{BatchSeries: 3}, nil)
		must(t, err)
		if len(want.Statuses) != 4 {
			t.Fatalf("%d statuses", len(want.Statuses))
		}
		for id, st := range want.Statuses {
			if len(st.Months) != 3 || st.IntakeM3 == 0 {
				t.Fatalf("%s: %+v", id, st)
			}
			if !reflect.DeepEqual(got.Statuses[id], st) {
				t.Errorf("%v %s:\nfrom pre-totals %+v\nhour by hour    %+v", now, id, got.Statuses[id], st)
			}
		}
		if !reflect.DeepEqual(got.Rows, want.Rows) || !reflect.DeepEqual(got.Parks, want.Parks) {
			t.Errorf("%v: rows or parks differ:\n%+v\n%+v", now, got.Rows, want.Rows)
		}
	}
	if used.Load() == 0 {
		t.Fatal("no pre-total read")
	}
	// The months are the balance's volumes over each whole month, read
	// hour by hour (periodvol.Volumes, the enterprise balance's function).
	b, err := compute(ctx, src, 2026, end, Options{}, nil)
	must(t, err)
	for _, e := range w.ids {
		pts, err := w.st.Points(ctx, store.Filter{Enterprise: e})
		must(t, err)
		for m := 1; m <= 3; m++ {
			from := time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, production.Zone)
			to := from.AddDate(0, 1, 0)
			if end.Before(to) {
				to = end
			}
			vol, _, err := periodvol.Volumes(ctx, hoursOnly{w.st}, pts, from, to, production.Zone)
			must(t, err)
			if got := b.Statuses[e].Months[m-1].IntakeM3; got != vol[e+"-G"]+vol[e+"-M"] {
				t.Errorf("month %d %s: tracked %g m³, balance volumes %v", m, e, got, vol)
			}
		}
	}
	t.Logf("%d pre-totals read; %d readings, %d late", used.Load(), len(batch), len(late))
}
