package alarmwatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// countingMeters counts the registry reads of a MeterList.
type countingMeters struct {
	*sqlite.Store
	whole, one atomic.Int64
}

func (c *countingMeters) Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error) {
	c.whole.Add(1)
	return c.Store.Meters(ctx, f)
}

func (c *countingMeters) Meter(ctx context.Context, id string) (meter.Meter, error) {
	c.one.Add(1)
	return c.Store.Meter(ctx, id)
}

// TestMeterListFollowsRegistry: the list is read whole once; a meter
// registered or revoked since (Changed) is in the next list as the
// registry has it, read alone; a bulk registration reads the whole again.
func TestMeterListFollowsRegistry(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	src := &countingMeters{Store: st}
	l := &MeterList{Store: src}
	ids := func() map[string]bool {
		t.Helper()
		ms, err := l.Meters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range ms {
			out[m.ID] = m.Revoked
		}
		return out
	}
	if got := ids(); len(got) != 2 {
		t.Fatalf("meters %v, want M-IN and M-U", got)
	}
	first, _ := l.Meters(ctx)
	ids()
	if w, o := src.whole.Load(), src.one.Load(); w != 1 || o != 0 {
		t.Fatalf("three lists read the registry whole %d times and %d meters alone; want once and none", w, o)
	}
	// A new meter and a revocation.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateMeter(ctx, meter.Meter{ID: "M-NEW", Point: "U", Key: key(t, "M-NEW"), Signed: meter.SignedByMeter, Registered: clk.now().Add(-time.Hour), Interval: time.Minute}))
	l.Changed("M-NEW")
	u, err := st.Meter(ctx, "M-U")
	must(err)
	u.Revoked = true
	must(st.UpdateMeter(ctx, u))
	l.Changed("M-U")
	got := ids()
	if revoked, ok := got["M-NEW"]; !ok || revoked || !got["M-U"] || len(got) != 3 {
		t.Fatalf("after registering M-NEW and revoking M-U: %v", got)
	}
	if w, o := src.whole.Load(), src.one.Load(); w != 1 || o != 2 {
		t.Fatalf("registry read whole %d times, %d meters alone; want once and 2", w, o)
	}
	for _, m := range first {
		if m.Revoked {
			t.Fatalf("a list returned before the revocation changed: %+v", m)
		}
	}
	// Many new meters at once: one whole read.
	var many []string
	for i := range 20 {
		id := fmt.Sprintf("M-B%d", i)
		must(st.CreateMeter(ctx, meter.Meter{ID: id, Point: "IN", Key: key(t, id), Signed: meter.SignedByMeter, Registered: clk.now(), Interval: time.Minute}))
		many = append(many, id)
	}
	l.Changed(many...)
	if got := ids(); len(got) != 23 || src.whole.Load() != 2 {
		t.Fatalf("after 20 new meters: %d meters, %d whole reads", len(got), src.whole.Load())
	}
}

// TestOfflineSeesNewMeter: the monitor's next check after a registration
// raises the new meter's offline alarm, with its meters from a MeterList
// told of the change.
func TestOfflineSeesNewMeter(t *testing.T) {
	st, clk := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []alarm.Alarm
	m := New(Options{Store: st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Repeat: time.Hour, Check: 10 * time.Millisecond,
		Notify: func(a alarm.Alarm) { mu.Lock(); got = append(got, a); mu.Unlock() }})
	l := &MeterList{Store: st}
	latest := func() map[string]time.Time { return map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()} }
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, latest, l.Meters) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	waitFor("the first check", func() bool { l.read.Lock(); defer l.read.Unlock(); return l.list != nil })
	if err := st.CreateMeter(ctx, meter.Meter{ID: "M-NEW", Point: "U", Key: key(t, "M-NEW"), Signed: meter.SignedByMeter, Registered: clk.now().Add(-time.Hour), Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	l.Changed("M-NEW")
	waitFor("M-NEW's offline alarm", func() bool {
		open, _ := st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true})
		return len(open) == 1 && open[0].Meter == "M-NEW"
	})
}

// TestMeterListKeepsWhatTheCheckReads: the list keeps of each meter its
// ID, revocation, registration time and interval — what the offline check
// reads — and none of the rest of its record, read whole or alone, so that
// a province's list costs the collector one string per meter.
func TestMeterListKeepsWhatTheCheckReads(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	l := &MeterList{Store: st}
	if _, err := l.Meters(ctx); err != nil {
		t.Fatal(err)
	}
	registered := clk.now().Add(-time.Hour).Truncate(time.Millisecond)
	if err := st.CreateMeter(ctx, meter.Meter{ID: "M-NEW", Point: "U", Key: key(t, "M-NEW"), Signed: meter.SignedByMeter,
		Serial: "S-1", Model: "DN50", Registered: registered, Interval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	l.Changed("M-NEW")
	for _, whole := range []bool{false, true} {
		if whole {
			l = &MeterList{Store: st}
		}
		ms, err := l.Meters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got *meter.Meter
		for i := range ms {
			if ms[i].ID == "M-NEW" {
				got = &ms[i]
			}
			if want := (meter.Meter{ID: ms[i].ID, Revoked: ms[i].Revoked, Registered: ms[i].Registered, Interval: ms[i].Interval}); ms[i] != want {
				t.Errorf("read whole %v: %s kept as %+v, want only its ID, revocation, registration and interval", whole, ms[i].ID, ms[i])
			}
		}
		if got == nil || !got.Registered.Equal(registered) || got.Interval != time.Minute || got.Revoked {
			t.Fatalf("read whole %v: M-NEW %+v, want registered %s, interval 1m", whole, got, registered)
		}
	}
}
