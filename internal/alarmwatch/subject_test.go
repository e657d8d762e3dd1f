package alarmwatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// waitAlarm waits (at most 30 s: a loaded machine) for the open alarm of kind for meter M-U.
func waitAlarm(t *testing.T, st *sqlite.Store, kind string) alarm.Alarm {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		open, err := st.Alarms(context.Background(), alarm.Filter{Kind: kind, Meter: "M-U", Open: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) == 1 {
			return open[0]
		}
		if len(open) > 1 || time.Now().After(deadline) {
			t.Fatalf("open %s alarms of M-U: %+v", kind, open)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A meter registered again on a point of another enterprise has its
// alarms raised after the change (a flagged reading, offline) filed under
// its new point and enterprise, though the running monitor raised one for
// it before. The change is noted from another goroutine than Run's, as
// devicecred's OnChange does.
func TestAlarmSubjectFollowsRegistryChange(t *testing.T) {
	st, clk := fixture(t)
	ctx := context.Background()
	total, _ := meter.StandardChannel("total_m3")
	for _, err := range []error{
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "E2", Name: "另一企业", Region: "430000", Industry: "3120"}),
		st.CreatePoint(ctx, meter.Point{ID: "IN2", Enterprise: "E2", Name: "取水", Level: 1, Stage: meter.StageIntake, Source: meter.SourceGround, Channels: []meter.Channel{total}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	m := New(Options{Store: st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Check: 5 * time.Millisecond})
	var silent atomic.Bool // M-U stopped reporting
	latest := func() map[string]time.Time {
		if silent.Load() {
			return map[string]time.Time{"M-IN": clk.now()}
		}
		return map[string]time.Time{"M-IN": clk.now(), "M-U": clk.now()}
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.Run(runCtx, latest, func(ctx context.Context) ([]meter.Meter, error) { return st.Meters(ctx, store.Filter{}) })
	}()
	defer func() { cancel(); wg.Wait() }()

	flagged := func(seq uint64, flags store.Flags) {
		m.Committed(&ingest.Committed{Readings: []store.Reading{{Meter: "M-U", Seq: seq, Time: clk.now(), Received: clk.now(), Flags: flags}}})
	}
	flagged(1, store.FlagGap)
	if a := waitAlarm(t, st, KindGap); a.Enterprise != "E" || a.Point != "U" {
		t.Fatalf("gap alarm before the change: enterprise %q point %q, want E U", a.Enterprise, a.Point)
	}
	mt, err := st.Meter(ctx, "M-U")
	if err != nil {
		t.Fatal(err)
	}
	mt.Point = "IN2"
	if err := st.UpdateMeter(ctx, mt); err != nil {
		t.Fatal(err)
	}
	m.RegistryChanged("M-U")
	flagged(2, store.FlagSkew)
	if a := waitAlarm(t, st, KindSkew); a.Enterprise != "E2" || a.Point != "IN2" {
		t.Errorf("skew alarm after the change: enterprise %q point %q, want E2 IN2", a.Enterprise, a.Point)
	}
	silent.Store(true)
	if a := waitAlarm(t, st, KindOffline); a.Enterprise != "E2" || a.Point != "IN2" {
		t.Errorf("offline alarm after the change: enterprise %q point %q, want E2 IN2", a.Enterprise, a.Point)
	}
}

// meterFailsOnce is a store whose next Meter fails while fail is set.
type meterFailsOnce struct {
	*sqlite.Store
	fail *atomic.Bool
}

func (s meterFailsOnce) Meter(ctx context.Context, id string) (meter.Meter, error) {
	if s.fail.CompareAndSwap(true, false) {
		return meter.Meter{}, errors.New("database is busy")
	}
	return s.Store.Meter(ctx, id)
}

// A lookup of a meter's subject that failed for a moment is not kept: the
// next alarm for the meter carries its point and enterprise.
func TestAlarmSubjectAfterFailedLookup(t *testing.T) {
	st, clk := fixture(t)
	var fail atomic.Bool
	fail.Store(true)
	m := New(Options{Store: meterFailsOnce{Store: st, fail: &fail}, Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	m.Committed(&ingest.Committed{Readings: []store.Reading{
		{Meter: "M-U", Seq: 1, Time: clk.now(), Received: clk.now(), Flags: store.FlagGap},
		{Meter: "M-U", Seq: 2, Time: clk.now(), Received: clk.now(), Flags: store.FlagSkew},
	}})
	for len(m.events) > 0 {
		m.raise(ctx, <-m.events)
	}
	if fail.Load() {
		t.Fatal("the store's Meter was not asked")
	}
	open, err := st.Alarms(ctx, alarm.Filter{Kind: KindSkew, Open: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Enterprise != "E" || open[0].Point != "U" {
		t.Fatalf("skew alarm after a failed lookup for the gap alarm: %+v", open)
	}
}
