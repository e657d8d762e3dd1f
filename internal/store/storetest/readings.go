package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// key orders readings as the store must: device time, then seq.
type key struct {
	t   int64
	seq uint64
}

func keyOf(r *store.Reading) key { return key{r.Time.UnixMilli(), r.Seq} }

func cmpKey(a, b key) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

func testReadings(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	r := rand.New(rand.NewPCG(11, 12))
	var all []key
	var seq, idx uint64
	commitDay := func(d, from, to int) {
		var batch []store.Reading
		for k := from; k < to; k++ {
			seq++
			idx += 3
			at := day(d).Add(time.Duration(k) * 10 * time.Minute)
			if r.IntN(10) == 0 {
				at = at.Add(-25 * time.Minute) // clock went back: time order differs from seq order
			}
			batch = append(batch, rd("M-1", seq, at, idx, total(float64(seq)), flow(float64(k))))
			all = append(all, key{at.UnixMilli(), seq})
			if len(batch) == 50 {
				must(t, s.Commit(ctx, &store.Batch{Readings: batch}))
				batch = nil
			}
		}
		must(t, s.Commit(ctx, &store.Batch{Readings: batch}))
	}
	commitDay(1, 0, 144)
	commitDay(2, 0, 144)
	commitDay(3, 0, 70)
	compact(t, s)
	commitDay(3, 70, 144) // the rest of day 3 stays in the head of a compacting store
	slices.SortFunc(all, cmpKey)

	for _, desc := range []bool{false, true} {
		want := slices.Clone(all)
		if desc {
			slices.Reverse(want)
		}
		var got []key
		q := store.ReadingQuery{Meter: "M-1", Limit: 50, Desc: desc}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			p, err := s.Readings(ctx, q)
			must(t, err)
			if len(p.Readings) > 50 {
				t.Fatalf("page of %d readings, limit 50", len(p.Readings))
			}
			for i := range p.Readings {
				got = append(got, keyOf(&p.Readings[i]))
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("desc=%v: paged readings differ from what was committed (%d vs %d)", desc, len(got), len(want))
		}
	}

	// A range: [day 2 06:00, day 3 06:00).
	from, to := day(2).Add(6*time.Hour), day(3).Add(6*time.Hour)
	var want []key
	for _, k := range all {
		if k.t >= from.UnixMilli() && k.t < to.UnixMilli() {
			want = append(want, k)
		}
	}
	var got []key
	must(t, s.ScanReadings(ctx, store.ReadingQuery{Meter: "M-1", From: from, To: to}, func(r *store.Reading) error {
		got = append(got, keyOf(r))
		if v, ok := r.Value("total_m3"); !ok || v != float64(r.Seq) {
			t.Fatalf("reading %d: total %v", r.Seq, v)
		}
		return nil
	}))
	if !slices.Equal(got, want) {
		t.Errorf("range scan: %d readings, want %d", len(got), len(want))
	}
	n := 0
	must(t, s.ScanReadings(ctx, store.ReadingQuery{Meter: "M-1", Limit: 7, Desc: true}, func(*store.Reading) error { n++; return nil }))
	if n != 7 {
		t.Errorf("scan with limit 7 gave %d", n)
	}
	wantErr(t, "readings of unknown meter", errOf(s.Readings(ctx, store.ReadingQuery{Meter: "M-NONE"})), store.ErrNotFound)

	// CSV export streams the same readings.
	var buf bytes.Buffer
	must(t, store.WriteReadingsCSV(ctx, &buf, s, store.ReadingQuery{Meter: "M-1", From: from, To: to}, []string{"total_m3", "flow_m3h", "ph"}, shanghai))
	recs, err := csv.NewReader(&buf).ReadAll()
	must(t, err)
	if len(recs) != len(want)+1 || strings.Join(recs[0], ",") != "time,seq,index,flags,total_m3,flow_m3h,ph" {
		t.Fatalf("csv: %d rows, header %v", len(recs), recs[0])
	}
	if recs[1][1] != recs[1][4] || recs[1][6] != "" || !strings.HasSuffix(recs[1][0], "+08:00") {
		t.Errorf("csv row: %v", recs[1])
	}
}
