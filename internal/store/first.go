package store

import (
	"context"
	"time"
)

// FirstReader is implemented by a store that can tell when each point's
// earliest reading is, from what it keeps anyway (an index probe a meter):
// a reader such as the province roll-up then skips the years before it,
// which hold no consumption.
type FirstReader interface {
	// FirstReadings returns, for every point with a stored reading, the
	// device time of its earliest one (of any of its meters, any
	// channel), to the millisecond. A point with no reading is absent.
	FirstReadings(ctx context.Context) (map[string]time.Time, error)
}
