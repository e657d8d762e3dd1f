package ingest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
)

// FuzzAdmissionStore checks the one validity rule end to end: signed
// readings with arbitrary time, seq, values and channel name go through the
// pipeline into the SQLite store, and whatever admission accepts the store
// commits — nothing accepted is missing from the store, and nothing is ever
// quarantined. Each input is two readings of a fresh meter: the second's
// seq and time are offsets from the first's, so seq jumps and clocks
// running backwards are explored as well.
func FuzzAdmissionStore(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(f.TempDir()+"/store.db", sqlite.Options{Sync: sqlite.SyncNormal, ManualCompaction: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	ph, _ := meter.StandardChannel("ph")
	point := meter.Point{ID: "P-F", Enterprise: "E-F", Name: "fuzz", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceGround, Channels: []meter.Channel{total, flow, ph}}
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E-F", Name: "E", Region: "430000", Industry: "3120"}))
	must(st.CreatePoint(ctx, point))
	dir := NewDirectory()
	l := &memLedger{}
	p, err := New(Options{Ledger: l, Store: st, Directory: dir, Linger: -1, Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(p.Close)

	ms := t0.UnixMilli()
	year := func(y int) int64 { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }
	// time (Unix ms), seq, second's seq offset, second's time offset (ms),
	// total_m3, second channel's value, second channel's name
	f.Add(ms, uint64(1), uint64(1), int64(60_000), 12.5, 3.5, "flow_m3h")
	f.Add(year(1), uint64(1), uint64(1), int64(60_000), 1.0, 1.0, "flow_m3h")
	f.Add(year(9999), uint64(1), uint64(1), int64(0), 1.0, 1.0, "ph")
	f.Add(year(2000)-1, uint64(7), uint64(1), int64(1), 0.0, 7.0, "ph")
	f.Add(ms, uint64(math.MaxUint64), uint64(1), int64(1), 1.0, 1.0, "flow_m3h")
	f.Add(ms, uint64(reading.MaxSeq), uint64(1), int64(1), 1.0, 1.0, "flow_m3h")
	f.Add(ms, uint64(1), uint64(1_000_000), int64(1), 1.0, 1.0, "flow_m3h")
	f.Add(ms, uint64(1), uint64(1_000_001), int64(1), 1.0, 1.0, "flow_m3h")
	f.Add(ms, uint64(1), uint64(1), int64(-86_400_000), 1e15, -1e15, "flow_m3h")
	f.Add(ms, uint64(1), uint64(1), int64(86_400_001), 1e300, math.SmallestNonzeroFloat64, "flow_m3h")
	f.Add(ms, uint64(1), uint64(1), int64(1), math.NaN(), math.Inf(1), "flow_m3h")
	f.Add(ms, uint64(1), uint64(1), int64(1), 1.0, 2.0, "total_m3")
	f.Add(ms, uint64(1), uint64(1), int64(1), 1.0, 2.0, "Flow")
	f.Add(int64(math.MaxInt64), uint64(0), uint64(0), int64(math.MinInt64), -0.0, 1.0, "")

	n := 0
	f.Fuzz(func(t *testing.T, at int64, seq, jump uint64, dt int64, v1, v2 float64, channel string) {
		n++
		m := newTestMeter(t, dir, fmt.Sprintf("F%d", n))
		if err := dir.Put(meter.Meter{ID: m.id, Point: point.ID, Key: m.vkey}, point, "E-F"); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateMeter(ctx, meter.Meter{ID: m.id, Point: point.ID, Key: m.vkey, Signed: meter.SignedByMeter, Interval: time.Minute}); err != nil {
			t.Fatal(err)
		}
		first := time.UnixMilli(at).UTC()
		for i, r := range []*reading.Reading{
			{Meter: m.id, Seq: seq, Time: first, Point: point.ID, Values: []reading.Value{{Channel: "total_m3", Value: v1}, {Channel: channel, Value: v2}}},
			{Meter: m.id, Seq: seq + jump, Time: first.Add(time.Duration(dt) * time.Millisecond), Point: point.ID, Values: []reading.Value{{Channel: "total_m3", Value: v1 + 1}}},
		} {
			msg, err := reading.Sign(r, m.signer)
			if err != nil {
				t.Fatal(err)
			}
			res := submitWait(p, msg, m.id)
			if res.Reject != nil {
				if res.Reject.Reason == ReasonQuarantined || res.Reject.Reason == ReasonUnavailable {
					t.Fatalf("reading %d: admitted to the ledger, then refused by the store: %+v", i, res.Reject)
				}
				continue
			}
			if res.Duplicate {
				continue
			}
			stored, err := st.ReadingBySeq(ctx, m.id, r.Seq)
			if err != nil || stored.Hash != reading.HashOf(msg) || stored.Index != res.Index {
				t.Fatalf("reading %d admitted at %d but not stored as admitted: %+v %v", i, res.Index, stored, err)
			}
		}
		if qs, err := st.Quarantined(ctx, quarantine.Filter{}); err != nil || len(qs) != 0 {
			t.Fatalf("quarantined %+v %v", qs, err)
		}
		l.mu.Lock()
		entries := uint64(len(l.entries))
		l.mu.Unlock()
		if size, err := st.LedgerSize(ctx); err != nil || size != entries {
			t.Fatalf("store ledger size %d (%v), ledger holds %d", size, err, entries)
		}
	})
}
