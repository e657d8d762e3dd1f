package control

import "time"

// Clock is the time a runner's control loops step on. The default is the
// wall clock. A simulated plant whose time can pause (a paced test plant
// holds its process time while the platform is behind) gives its own clock,
// so that the controllers and the plant share one time: a controller on the
// wall clock would keep integrating through the plant's pause and act on
// minutes of process time that never passed.
type Clock interface {
	Now() time.Time
	// Tick sends the clock's time on the returned channel every d of this
	// clock's time, dropping ticks a slow receiver misses (as time.Ticker
	// does), until stop is called.
	Tick(d time.Duration) (c <-chan time.Time, stop func())
}

// wallClock is the wall clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
