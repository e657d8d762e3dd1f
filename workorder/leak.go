package workorder

import (
	"fmt"
	"math"
	"time"
)

// Bounds of a leak's inputs: a start in [MinLeakStart, MaxLeakStart) and an
// outflow in [0, MaxLeakFlowM3H] (above the flow of the largest industrial
// supply main).
var (
	MinLeakStart = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxLeakStart = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MaxLeakFlowM3H bounds a leak's outflow, m³/h.
const MaxLeakFlowM3H = 100_000

// LeakInvalid says why the order's leak start or flow cannot give a water
// lost ("" when they can). Orders are made within these bounds; one stored
// before they were checked is still listed and closed, without a figure.
func (o Order) LeakInvalid() string {
	if !o.LeakStart.IsZero() && (o.LeakStart.Before(MinLeakStart) || !o.LeakStart.Before(MaxLeakStart)) {
		return fmt.Sprintf("leak start %s is outside %d–%d", o.LeakStart.Format(time.RFC3339), MinLeakStart.Year(), MaxLeakStart.Year()-1)
	}
	if f := o.LeakFlowM3H; math.IsNaN(f) || f < 0 || f > MaxLeakFlowM3H {
		return fmt.Sprintf("leak flow %g m³/h is outside [0, %d]", f, MaxLeakFlowM3H)
	}
	return ""
}
