package netmon

import (
	"math"
	"time"
)

// networkTimeOrigin is network second 0: a local midnight (China Standard
// Time, which has kept UTC+8 without daylight saving since 1991), so that
// network time modulo a day is the time of day the demand patterns follow.
var networkTimeOrigin = time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Seconds returns the network time of the instant t, in seconds since
// networkTimeOrigin, rounded down.
func (c Clock) Seconds(t time.Time) int64 {
	return int64(math.Floor(c.model(t).Sub(networkTimeOrigin).Seconds()))
}

// model maps a real instant to network (model) time.
func (c Clock) model(t time.Time) time.Time {
	if c.Speed == 1 || c.Speed == 0 {
		return t
	}
	return c.Epoch.Add(time.Duration(float64(t.Sub(c.Epoch)) * c.Speed))
}

// Instant returns the real instant at which the network time is s seconds.
func (c Clock) Instant(s int64) time.Time {
	m := networkTimeOrigin.Add(time.Duration(s) * time.Second)
	if c.Speed == 1 || c.Speed == 0 {
		return m.UTC()
	}
	return c.Epoch.Add(time.Duration(float64(m.Sub(c.Epoch)) / c.Speed)).UTC()
}

// Real returns the real duration of d network time.
func (c Clock) Real(d time.Duration) time.Duration {
	if c.Speed == 0 {
		return d
	}
	return time.Duration(float64(d) / c.Speed)
}
