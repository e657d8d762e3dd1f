package sim

import (
	"sync"
	"time"
)

// ProcessClock is a process plant's own time as a control.Clock: the wall
// time a plant that never paused would read, its origin plus the process
// time it has integrated divided by its Speed. It moves only when the plant
// advances, so a server whose control plane runs on it
// (control.RunnerOptions.Clock) pauses with a paced plant instead of
// integrating through the pause.
type ProcessClock struct {
	p      *ProcessPlant
	origin time.Time

	mu      sync.Mutex
	tickers map[*clockTicker]struct{}
}

type clockTicker struct {
	d    time.Duration
	next time.Time
	c    chan time.Time
}

// Clock returns the plant's clock (one per plant).
func (p *ProcessPlant) Clock() *ProcessClock { return p.clock }

// Now returns the plant's time.
func (c *ProcessClock) Now() time.Time {
	c.p.mu.Lock()
	t := c.p.st.T
	c.p.mu.Unlock()
	return c.at(t)
}

// at maps process seconds to the clock's time.
func (c *ProcessClock) at(processS float64) time.Time {
	return c.origin.Add(time.Duration(processS / c.p.Speed * float64(time.Second)))
}

// Tick sends the plant's time every d of it, dropping ticks a slow receiver
// misses, until stop is called.
func (c *ProcessClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		panic("sim: non-positive clock tick")
	}
	t := &clockTicker{d: d, next: c.Now().Add(d), c: make(chan time.Time, 1)}
	c.mu.Lock()
	if c.tickers == nil {
		c.tickers = map[*clockTicker]struct{}{}
	}
	c.tickers[t] = struct{}{}
	c.mu.Unlock()
	return t.c, func() {
		c.mu.Lock()
		delete(c.tickers, t)
		c.mu.Unlock()
	}
}

// fire sends now to every ticker that is due; the plant calls it after
// each advance.
func (c *ProcessClock) fire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.tickers {
		if now.Before(t.next) {
			continue
		}
		select {
		case t.c <- now:
		default: // the receiver is still busy with the last tick
		}
		for !now.Before(t.next) {
			t.next = t.next.Add(t.d)
		}
	}
}
