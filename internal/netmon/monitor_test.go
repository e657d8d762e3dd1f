package netmon_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/netmon/netmontest"
	"github.com/shuixiao/shuixiao/leak"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func detectorStatus(m *netmon.Monitor) netmon.Status {
	st, ok := m.Status(netmontest.NetworkID)
	if !ok || st.Detector == nil {
		return netmon.Status{}
	}
	return *st.Detector
}

func assembled(m *netmon.Monitor) func() int {
	return func() int { s := detectorStatus(m); return s.Steps + s.Assembler.Skipped }
}

// TestMonitorAlarmsRearmsAndRecovers runs the monitor on a simulated leak:
// it calibrates on the first day, raises a leak alarm with ranked
// candidates, holds until the alarm is cleared, and after a restart
// recalibrates from the stored history without learning the leak or
// alarming it again.
func TestMonitorAlarmsRearmsAndRecovers(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 7, true)
	clk := netmontest.NewFakeNow(p.Origin)
	var notified []alarm.Alarm
	var mu sync.Mutex
	mon := netmon.New(netmon.Options{Store: p.Store, Now: clk.Now, Tick: time.Millisecond, Logger: quiet,
		Notify: func(a alarm.Alarm) { mu.Lock(); notified = append(notified, a); mu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { mon.Run(ctx); close(done) }()
	netmontest.WaitFor(t, "the network to load", func() bool { _, ok := mon.Status(netmontest.NetworkID); return ok })

	const leakNode, leakFlow = "C09", 12.0
	onset := int64(86400 + 5*3600)
	alarmed := func() bool { st, _ := mon.Status(netmontest.NetworkID); return st.OpenAlarm != 0 }
	next := p.Feed(t, 0, onset-300, clk, mon.Committed, assembled(mon), alarmed)
	if alarmed() {
		t.Fatal("leak alarm before the leak")
	}
	if s := detectorStatus(mon); !s.Calibrated || s.Assembler.Skipped != 0 || s.Errors != 0 || !s.Watching {
		t.Fatalf("before the leak: %+v", s)
	}
	if _, err := p.Model.OpenLeak(leakNode, leakFlow); err != nil {
		t.Fatal(err)
	}
	next = p.Feed(t, next, onset+4*3600, clk, mon.Committed, assembled(mon), alarmed)
	st, _ := mon.Status(netmontest.NetworkID)
	if st.OpenAlarm == 0 {
		t.Fatal("no alarm within 4 h of a 12 m³/h leak")
	}
	ctxb := context.Background()
	ev, err := p.Store.LeakEvent(ctxb, st.OpenAlarm)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Store.Alarm(ctxb, st.OpenAlarm)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != netmon.KindLeak || a.Enterprise != netmontest.UtilityID || a.State != alarm.Active {
		t.Fatalf("alarm %+v", a)
	}
	delay, startErr := ev.Raised.Sub(p.At(onset)), ev.Start.Sub(p.At(onset))
	graph, err := leak.NetworkGraph(parkNetwork(t))
	if err != nil {
		t.Fatal(err)
	}
	dist := math.Inf(1)
	for _, pipe := range graph.PipesAt(leakNode) {
		d, _ := graph.Distance(ev.Candidates[0].Link, pipe)
		dist = min(dist, d)
	}
	t.Logf("leak alarm after %v (onset estimated %+v), %.1f m³/h, rank-1 %s at %.0f m, %d candidates: %s",
		delay, startErr, ev.FlowM3H, ev.Candidates[0].Link, dist, len(ev.Candidates), a.Message)
	if len(ev.Candidates) != 10 || ev.Candidates[0].Rank != 1 || dist > 300 || math.Abs(ev.FlowM3H-leakFlow) > 4 || startErr.Abs() > time.Hour || delay > 2*time.Hour {
		t.Errorf("leak event %+v (rank-1 at %.0f m, alarm after %v)", ev, dist, delay)
	}
	mu.Lock()
	if len(notified) != 1 || notified[0].ID != a.ID {
		t.Errorf("notified %+v", notified)
	}
	mu.Unlock()
	if detectorStatus(mon).Watching {
		t.Error("the detector watches again before the alarm is cleared")
	}

	// A restart while the leak is open: the replay calibrates on the
	// leak-free history before the leak (reaching back past it) and the
	// detector holds on the open alarm instead of alarming again.
	cancel()
	<-done
	mon = netmon.New(netmon.Options{Store: p.Store, Now: clk.Now, Tick: time.Millisecond, Logger: quiet})
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { mon.Run(ctx); close(done) }()
	netmontest.WaitFor(t, "the replay", func() bool { return detectorStatus(mon).Steps >= 340 })
	if st, _ := mon.Status(netmontest.NetworkID); st.OpenAlarm != a.ID || st.Detector.Watching || !st.Detector.Calibrated {
		t.Fatalf("after a restart with the leak open: %+v", st)
	}
	// The assembler jumps the gap to the first live step; count from there
	// (the replay may still be running: allow for it).
	base, first := assembled(mon)(), int(next/300)
	relative := func() int { return assembled(mon)() - base + first + 1 }
	next = p.Feed(t, next, next+3600, clk, mon.Committed, relative, nil)
	if as, _ := p.Store.Alarms(ctxb, alarm.Filter{Kind: netmon.KindLeak}); len(as) != 1 {
		t.Fatalf("%d leak alarms after a restart with the leak open, want 1", len(as))
	}

	// The crew repairs the leak; clearing the alarm re-arms the detector.
	if err := p.Model.CloseLeak(leakNode); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store.ClearAlarm(ctxb, a.ID, "crew", p.At(next), "repaired"); err != nil {
		t.Fatal(err)
	}
	netmontest.WaitFor(t, "the detector to re-arm", func() bool {
		st, _ := mon.Status(netmontest.NetworkID)
		return st.OpenAlarm == 0 && st.Detector.Watching
	})
	next = p.Feed(t, next, next+6*3600, clk, mon.Committed, relative, alarmed)
	if alarmed() {
		t.Fatal("alarm after the repair")
	}
	cancel()
	<-done

	// A restart replays the stored history: calibrated at once, and the
	// leak in the history is neither learnt nor alarmed again.
	mon2 := netmon.New(netmon.Options{Store: p.Store, Now: clk.Now, Tick: time.Millisecond, Logger: quiet})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go mon2.Run(ctx2)
	netmontest.WaitFor(t, "the replay", func() bool { return detectorStatus(mon2).Calibrated })
	if st, _ := mon2.Status(netmontest.NetworkID); st.OpenAlarm != 0 {
		t.Fatalf("the restart alarmed the repaired leak again: %+v", st)
	}
	if as, _ := p.Store.Alarms(ctxb, alarm.Filter{Kind: netmon.KindLeak}); len(as) != 1 {
		t.Fatalf("%d leak alarms after the restart, want 1", len(as))
	}
}

// TestMonitorSkipsStepsOfASilentSensor: a pressure logger that stops
// reporting is held for two steps, then its steps are skipped, and the
// detector resumes when it reports again.
func TestMonitorSkipsStepsOfASilentSensor(t *testing.T) {
	p := netmontest.NewPark(t, t.TempDir(), 1, 3, true)
	clk := netmontest.NewFakeNow(p.Origin)
	mon := netmon.New(netmon.Options{Store: p.Store, Now: clk.Now, Tick: time.Millisecond, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go mon.Run(ctx)
	netmontest.WaitFor(t, "the network to load", func() bool { _, ok := mon.Status(netmontest.NetworkID); return ok })
	drop := false
	committed := func(c *ingest.Committed) {
		if drop {
			c.Readings = c.Readings[1:] // the first sensor's reading is lost
		}
		mon.Committed(c)
	}
	next := p.Feed(t, 0, 3000, clk, committed, assembled(mon), nil)
	drop = true
	// The wait for late readings ends two steps after each window.
	next = p.Feed(t, next, next+3000, clk, committed, func() int { return assembled(mon)() + 3 }, nil)
	drop = false
	p.Feed(t, next, next+3000, clk, committed, assembled(mon), nil)
	s := detectorStatus(mon)
	if s.Assembler.Skipped < 5 || s.Assembler.Held < 2 || s.Assembler.Missing[0] != s.Assembler.Skipped {
		t.Fatalf("assembler after a silent sensor: %+v", s.Assembler)
	}
	if s.Steps < 20 {
		t.Fatalf("only %d steps fed", s.Steps)
	}
}
