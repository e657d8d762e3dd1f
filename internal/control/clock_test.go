package control

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/plant"
)

// handClock is a Clock the test moves and ticks by hand.
type handClock struct {
	mu   sync.Mutex
	now  time.Time
	tick chan time.Time
}

func (c *handClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *handClock) Tick(time.Duration) (<-chan time.Time, func()) { return c.tick, func() {} }

// advance moves the clock by d and ticks.
func (c *handClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	c.tick <- now
}

// TestRunnerClock: the loops step on the runner's Clock only: no step
// while it stands, however much wall time passes; a step's dt and process
// time are the clock's time since the last, times the plant's time scale.
func TestRunnerClock(t *testing.T) {
	st := &memStore{plants: map[string]plant.Record{}, commands: map[string]command.Record{}}
	act, err := actuate.New(actuate.Options{Publisher: nopBroker{}, Ledger: &memLedger{}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRunner(RunnerOptions{Actuation: act, Store: st, Clock: &handClock{}, Now: time.Now}); err == nil {
		t.Fatal("a runner with both a Clock and Now")
	}
	origin := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clock := &handClock{now: origin, tick: make(chan time.Time)}
	r, err := NewRunner(RunnerOptions{Actuation: act, Store: st, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	cfg := towerConfig() // StepS 1, TimeScale 60
	if err := r.Register(ctx, cfg, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Duration(cfg.StepS*float64(time.Second))) // three steps of wall time
	if live, _ := r.Live(cfg.ID); live != nil {
		t.Fatalf("stepped %d times while the clock stood", live.Step)
	}
	waitStep := func(n int) *Live {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if live, _ := r.Live(cfg.ID); live != nil && live.Step == n {
				return live
			}
		}
		t.Fatalf("no step %d", n)
		return nil
	}
	clock.advance(time.Second)
	if live := waitStep(1); live.DtS != 60 || !live.ProcessTime.Equal(origin.Add(time.Minute)) {
		t.Errorf("step 1: dt %v s, process time %v; want 60 s, %v", live.DtS, live.ProcessTime, origin.Add(time.Minute))
	}
	clock.advance(3 * time.Second)
	if live := waitStep(2); live.DtS != 180 || !live.ProcessTime.Equal(origin.Add(4*time.Minute)) {
		t.Errorf("step 2: dt %v s, process time %v; want 180 s, %v", live.DtS, live.ProcessTime, origin.Add(4*time.Minute))
	}
}
