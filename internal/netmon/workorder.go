package netmon

import (
	"math"
	"time"
)

// WaterLost is the water (m³) a leak of flowM3H lost between its estimated
// start and end: the leak flow integrated over the time it ran, in the
// network's time (real time for a real network; for a simulated one
// running faster, the time its model lived through). The detector's
// estimate of the flow is the only one there is until the crew measures
// the leak, so the flow is held constant over the period. A leak that
// began after end, or an unknown start, lost nothing yet.
func WaterLost(start, end time.Time, flowM3H float64, clock Clock) float64 {
	if start.IsZero() || !end.After(start) || !(flowM3H > 0) || math.IsInf(flowM3H, 0) {
		return 0
	}
	hours := end.Sub(start).Hours()
	if clock.Speed > 0 {
		hours *= clock.Speed
	}
	return flowM3H * hours
}
