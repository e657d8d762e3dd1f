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

// TestFirstReadingUnknown: a meter whose first reading is not kept (a
// state row from before first_t) is answered from its readings, and a
// later commit, of a reading after the others, leaves it unknown rather
// than making it that reading's time.
func TestFirstReadingUnknown(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "E", Region: "430300", Industry: "3120"}))
	must(s.CreatePoint(ctx, meter.Point{ID: "P", Enterprise: "E", Name: "P", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceGround,
		Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Max: 1e9}}}))
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName("M"))
	must(err)
	early := time.Date(2021, 5, 1, 8, 0, 0, 0, time.UTC)
	must(s.CreateMeter(ctx, meter.Meter{ID: "M", Point: "P", Key: vkey, Signed: meter.SignedByMeter, Registered: early.Add(-time.Hour), Interval: time.Minute}))
	commit := func(seq uint64, at time.Time) {
		t.Helper()
		must(s.Commit(ctx, &store.Batch{LedgerSize: seq, Readings: []store.Reading{{Meter: "M", Seq: seq, Time: at, Received: at, Index: seq - 1,
			Hash: sha256.Sum256([]byte(fmt.Sprint(seq))), Values: []store.Value{{Channel: "total_m3", Value: float64(seq)}}}}}))
	}
	first := func() time.Time {
		t.Helper()
		got, err := s.FirstReadings(ctx)
		must(err)
		return got["P"]
	}
	commit(1, early)
	commit(2, early.AddDate(5, 0, 0))
	if f := first(); !f.Equal(early) {
		t.Fatalf("first reading %v, want %v", f, early)
	}
	_, err = s.pool.Exec(ctx, `UPDATE meter_state SET first_t = NULL`)
	must(err)
	if f := first(); !f.Equal(early) {
		t.Errorf("unknown first_t: first reading %v, want %v from the readings", f, early)
	}
	commit(3, early.AddDate(5, 1, 0))
	var known *int64
	must(s.pool.QueryRow(ctx, `SELECT first_t FROM meter_state`).Scan(&known))
	if known != nil || !first().Equal(early) {
		t.Errorf("after a commit, first_t %v (want unknown), first reading %v", known, first())
	}
}
