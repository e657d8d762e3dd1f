package dosing

import (
	"math"

	"github.com/shuixiao/shuixiao/sensor"
)

// Reading, Alarm and Severity are the control packages' shared types.
type (
	Reading  = sensor.Reading
	Alarm    = sensor.Alarm
	Severity = sensor.Severity
)

// Alarm severities.
const (
	Warning  = sensor.Warning
	Critical = sensor.Critical
)

// limit clamps v to [lo, hi]; NaN becomes lo (the safe side for a dosing pump).
func limit(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

// pi is a PI law with conditional-integration anti-windup shared by the feed controllers.
// It returns the limited output and the integral to keep.
func pi(bias, kp, tiS, e, integral, dt, lo, hi float64) (out, newIntegral float64) {
	next := integral
	if tiS > 0 && dt > 0 && !math.IsNaN(dt) && !math.IsInf(dt, 0) {
		next += e * dt
	}
	u := bias + kp*e
	if tiS > 0 {
		u += kp * next / tiS
	}
	out = limit(u, lo, hi)
	// Integrate only while the output is not pushed further into a limit.
	if out != u && (u > out) == (e > 0) {
		return out, integral
	}
	if math.IsNaN(next) || math.IsInf(next, 0) {
		return out, integral
	}
	return out, next
}
