package alarmwatch

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a store with one enterprise: a level-1 intake meter and a
// level-2 use meter below it.
func fixture(t *testing.T) (*sqlite.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}
	total, _ := meter.StandardChannel("total_m3")
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Region: "430000", Industry: "3120"}),
		st.CreatePoint(ctx, meter.Point{ID: "IN", Enterprise: "E", Name: "取水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total}}),
		st.CreatePoint(ctx, meter.Point{ID: "U", Enterprise: "E", Name: "车间", Level: 2, Stage: meter.StageUse, Parent: "IN", Channels: []meter.Channel{total}}),
		st.CreateMeter(ctx, meter.Meter{ID: "M-IN", Point: "IN", Key: key(t, "M-IN"), Signed: meter.SignedByMeter, Registered: clk.now().Add(-time.Hour), Interval: time.Minute}),
		st.CreateMeter(ctx, meter.Meter{ID: "M-U", Point: "U", Key: key(t, "M-U"), Signed: meter.SignedByMeter, Registered: clk.now().Add(-time.Hour), Interval: time.Minute}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return st, clk
}

func key(t *testing.T, id string) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

func newMonitor(st *sqlite.Store, clk *clock, got *[]alarm.Alarm, mu *sync.Mutex) *Monitor {
	return New(Options{Store: st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Repeat: time.Hour,
		Notify:  func(a alarm.Alarm) { mu.Lock(); *got = append(*got, a); mu.Unlock() },
		Balance: BalanceCheck{Store: st, Window: time.Hour}})
}

func TestOfflineRaisesRepeatsAndClears(t *testing.T) {
	st, clk := fixture(t)
	var mu sync.Mutex
	var got []alarm.Alarm
	m := newMonitor(st, clk, &got, &mu)
	ctx := context.Background()
	ms, _ := st.Meters(ctx, store.Filter{})
	last := map[string]time.Time{"M-IN": clk.now().Add(-2 * time.Minute), "M-U": clk.now().Add(-4 * time.Minute)}
	m.checkOffline(ctx, last, ms)
	open, _ := st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true})
	if len(open) != 1 || open[0].Meter != "M-U" || open[0].Enterprise != "E" || open[0].Point != "U" {
		t.Fatalf("offline after 4 silent minutes (limit 3): %+v", open)
	}
	// Within the repeat interval nothing new happens; after it, a repeat.
	clk.add(30 * time.Minute)
	m.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now()}, ms)
	a, _ := st.Alarm(ctx, open[0].ID)
	if a.Count != 1 {
		t.Fatalf("repeated too early: count %d", a.Count)
	}
	clk.add(31 * time.Minute)
	m.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now()}, ms)
	if a, _ = st.Alarm(ctx, open[0].ID); a.Count != 2 {
		t.Fatalf("not repeated after the interval: count %d", a.Count)
	}
	// Data returns: the alarm clears itself.
	m.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()}, ms)
	if a, _ = st.Alarm(ctx, open[0].ID); a.State != alarm.Cleared || a.ClearedBy != "system" {
		t.Fatalf("not cleared when data returned: %+v", a)
	}
	// A restarted monitor picks up an alarm left open and clears it too.
	m.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now()}, ms)
	clk.add(10 * time.Minute)
	m.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now()}, ms)
	m2 := newMonitor(st, clk, &got, &mu)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		m2.Run(runCtx, func() map[string]time.Time { return nil }, func(context.Context) ([]meter.Meter, error) { return nil, nil })
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	m2.checkOffline(ctx, map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()}, ms)
	if open, _ := st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true}); len(open) != 0 {
		t.Fatalf("alarm left open across a restart: %+v", open)
	}
}

func TestCommittedFlagsAndRefusals(t *testing.T) {
	st, clk := fixture(t)
	var mu sync.Mutex
	var got []alarm.Alarm
	m := newMonitor(st, clk, &got, &mu)
	m.Committed(&ingest.Committed{
		Readings:   []store.Reading{{Meter: "M-U", Seq: 9, Index: 4, Time: clk.now(), Received: clk.now(), Flags: store.FlagGap | store.FlagSkew}},
		Enterprise: []string{"E"},
		Rejections: []rejection.Rejection{{Meter: "M-IN", Reason: ingest.ReasonBadSignature, Time: clk.now()}, {Meter: "M-IN", Reason: ingest.ReasonReplay, Time: clk.now()}, {Reason: ingest.ReasonMalformed}},
	})
	ctx := context.Background()
	for len(m.events) > 0 {
		m.raise(ctx, <-m.events)
	}
	open, _ := st.Alarms(ctx, alarm.Filter{Open: true})
	kinds := map[string]string{}
	for _, a := range open {
		kinds[a.Kind] = a.Meter
		if a.Enterprise != "E" {
			t.Errorf("alarm %s without its enterprise: %+v", a.Kind, a)
		}
	}
	want := map[string]string{KindGap: "M-U", KindSkew: "M-U", KindRejected: "M-IN", KindReplay: "M-IN"}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("alarm %s: got meter %q, want %q (all: %v)", k, kinds[k], v, kinds)
		}
	}
	if len(open) != len(want) {
		t.Errorf("%d alarms, want %d: %v", len(open), len(want), kinds)
	}
	if len(got) != len(want) {
		t.Errorf("%d notifications, want %d", len(got), len(want))
	}
}

func TestBalanceAlarm(t *testing.T) {
	st, clk := fixture(t)
	var mu sync.Mutex
	var got []alarm.Alarm
	m := newMonitor(st, clk, &got, &mu)
	ctx := context.Background()
	// Two hours of readings and one after the window: the level-1 meter
	// counts 10 m³ per 15 min, the level-2 meter 8 — 20 % of the intake
	// unaccounted.
	start := clk.now().Add(-2 * time.Hour)
	var b store.Batch
	var idx uint64
	for k := 0; k <= 9; k++ {
		at := start.Add(time.Duration(k) * 15 * time.Minute)
		b.Readings = append(b.Readings,
			store.Reading{Meter: "M-IN", Seq: uint64(k + 1), Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: 100 + 10*float64(k)}}},
			store.Reading{Meter: "M-U", Seq: uint64(k + 1), Time: at, Received: at, Index: idx + 1, Values: []store.Value{{Channel: "total_m3", Value: 50 + 8*float64(k)}}})
		b.Readings[len(b.Readings)-2].Hash[0], b.Readings[len(b.Readings)-1].Hash[0] = byte(k+1), byte(k+100)
		idx += 2
	}
	b.LedgerSize = idx
	if err := st.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	clk.add(10 * time.Minute) // the window is the hour to 02:00
	m.checkBalances(ctx)
	open, _ := st.Alarms(ctx, alarm.Filter{Kind: KindBalance, Open: true})
	if len(open) != 1 || open[0].Enterprise != "E" {
		t.Fatalf("no balance alarm for 20 %% unaccounted: %+v", open)
	}
	// The level-2 meter was mis-read: correct readings make the balance close.
	var b2 store.Batch
	for k := 10; k <= 13; k++ {
		at := start.Add(time.Duration(k) * 15 * time.Minute)
		b2.Readings = append(b2.Readings,
			store.Reading{Meter: "M-IN", Seq: uint64(k + 1), Time: at, Received: at, Index: idx, Values: []store.Value{{Channel: "total_m3", Value: 100 + 10*float64(k)}}},
			store.Reading{Meter: "M-U", Seq: uint64(k + 1), Time: at, Received: at, Index: idx + 1, Values: []store.Value{{Channel: "total_m3", Value: 114 + 10*float64(k-8)}}})
		b2.Readings[len(b2.Readings)-2].Hash[0], b2.Readings[len(b2.Readings)-1].Hash[0] = byte(k+1), byte(k+100)
		idx += 2
	}
	b2.LedgerSize = idx
	if err := st.Commit(ctx, &b2); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	m.checkBalances(ctx)
	if a, _ := st.Alarm(ctx, open[0].ID); a.State != alarm.Cleared {
		t.Fatalf("balance alarm not cleared when the balance closed: %+v", a)
	}
}
