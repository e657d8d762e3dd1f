package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestTotalsBackfill: hours built without pre-totals (the table emptied,
// as in a store written before they existed) get them back from the
// builder's runs, a few points at a time.
func TestTotalsBackfill(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	must(s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430300", Industry: "3120"}))
	var b store.Batch
	idx := uint64(0)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	for i := range 3 {
		pt, id := fmt.Sprintf("P%d", i), fmt.Sprintf("M%d", i)
		must(s.CreatePoint(ctx, meter.Point{ID: pt, Enterprise: "E", Name: pt, Level: meter.Level2, Stage: meter.StageUse,
			Channels: []meter.Channel{{Name: "total_m3", Unit: "m3", Kind: meter.Total, Rollover: 99999.99, Max: 1e9}}}))
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		must(err)
		must(s.CreateMeter(ctx, meter.Meter{ID: id, Point: pt, Key: vkey, Signed: meter.SignedByMeter, Registered: start.Add(-time.Hour), Interval: time.Minute}))
		for k := 0; k <= 3*24*4; k++ {
			at := start.Add(time.Duration(k) * 15 * time.Minute)
			b.Readings = append(b.Readings, store.Reading{Meter: id, Seq: uint64(k + 1), Time: at, Received: at, Index: idx,
				Hash: sha256.Sum256([]byte(fmt.Sprint(id, k))), Values: []store.Value{{Channel: "total_m3", Value: float64(k) * 1.25}}})
			idx++
		}
	}
	b.LedgerSize = idx
	must(s.Commit(ctx, &b))
	must(s.Compact(ctx))
	count := func() int {
		var n int
		// Days from the first reading's (the build may also keep the day
		// before it: no valid hour, closed by the first reading).
		must(s.pool.QueryRow(ctx, `SELECT count(*) FROM consumption_totals WHERE t_end - t_start <= $1 AND t_start >= $2`, 25*hourMs, ms(start)).Scan(&n))
		return n
	}
	if n := count(); n != 3*3 { // three points, three closed days each (a reading at the third day's end)
		t.Fatalf("%d day totals after the build, want 9", n)
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM consumption_totals`)
	must(err)
	s.totals.fill.Lock()
	s.totals.next, s.totals.done = "", false
	s.totals.fill.Unlock()
	must(s.backfillStep(ctx, 2))
	if n := count(); n != 6 {
		t.Errorf("%d day totals after back-filling two points, want 6", n)
	}
	must(s.Compact(ctx)) // nothing to build: the back-fill goes on
	if n := count(); n != 9 {
		t.Errorf("%d day totals after the back-fill, want 9", n)
	}
}
