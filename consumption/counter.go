// Package consumption is the pure engine that turns a metering point's
// readings into consumption per time bucket. Every store driver aggregates
// with it (internal/store/aggregate wraps it in the store's query types), so
// that an aggregate is the same number whichever database holds the
// readings, and the independent verifier (shuixiao verify balance)
// recomputes volumes from the ledger with the same functions. It is pure:
// points and summaries in, accumulators out.
//
// The rules, per channel kind (meter.Kind, after WaterML 2.0's
// interpolationType, reference/platform.md §4.3):
//
//   - Points of one meter are ordered by device time; of several points with
//     the same time the one with the lowest seq is kept (SortDedup), so a
//     replayed or duplicated reading counts once.
//   - Rate channels: avg, min, max, last and sum of the values in a bucket.
//     Delta is not defined.
//   - Running totals (totalisers): delta is consumption. Successive register
//     values are differenced by Counter.Increment, which undoes a rollover
//     (99999.99 → 0.01 is 0.02) and a counter reset (a drop to below half,
//     counted from zero); a smaller drop is a negative increment (reverse
//     flow or a register correction), which keeps Σ consumption equal to
//     last − first. The increment between two readings is apportioned to
//     buckets in proportion to the time each bucket covers between them: a
//     day boundary gets the linearly interpolated register value (as
//     utilities interpolate a meter at midnight) and a gap in the readings is
//     filled with an even estimate. Summed over buckets that cover all
//     readings, consumption is exactly the adjusted last − first.
//   - Interval totals (a 15-min volume, a daily frozen 日冻结 volume): each
//     value is the total of the interval ending at its time, so it belongs to
//     the bucket containing the instant just before (EffectiveTime); delta is
//     their sum.
//
// Consumption of a metering point is the sum over its meters: each meter is
// differenced on its own, so a replacement meter starting from a new base
// adds no false step.
//
// Stores keep per-hour Summaries of compacted readings; Accumulate takes
// Summaries and single points mixed, as long as each lies inside one bucket,
// which lets a long-range daily query read 24 summaries a day instead of
// every reading.
package consumption

import (
	"math"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/meter"
)

// Counter is the register arithmetic of one totaliser channel.
type Counter struct {
	// Modulus is the count at which the register wraps to zero; 0: never.
	Modulus float64
}

// CounterFor returns the counter of a channel definition.
func CounterFor(c meter.Channel) Counter { return Counter{Modulus: RolloverModulus(c.Rollover)} }

// RolloverModulus turns a channel's Rollover into the count at which the
// register wraps. A value whose integer digits are all nines (99999.99,
// 9999999) is the largest reading the register shows, so it wraps one count
// later, at the next power of ten (100000, 10000000); any other value is the
// wrap value itself.
func RolloverModulus(rollover float64) float64 {
	if rollover <= 0 || math.IsNaN(rollover) || math.IsInf(rollover, 0) {
		return 0
	}
	s := strconv.FormatFloat(rollover, 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if strings.Trim(intPart, "9") != "" || strings.Trim(frac, "9") != "" {
		return rollover
	}
	return math.Pow(10, float64(len(intPart)))
}

// ResetFraction: a register that drops to below this fraction of its
// previous value (and not across a rollover) is taken to have been reset to
// zero; a smaller drop is a negative increment.
const ResetFraction = 0.5

// Increment returns the consumption between two successive register values.
func (c Counter) Increment(prev, cur float64) float64 {
	if cur >= prev {
		return cur - prev
	}
	if m := c.Modulus; m > 0 {
		// Wrapped if going round the dial is the short way.
		if w := (m - prev) + cur; w >= 0 && w < m/2 {
			return w
		}
	}
	if cur >= 0 && cur < prev*ResetFraction {
		return cur // counting again from zero
	}
	return cur - prev
}

// EffectiveTime returns the time (ms) at which a value of the given kind
// belongs in a bucket: an interval total stamped at the end of its interval
// belongs just before that instant, so a daily volume stamped 00:00 counts
// for the day that ended.
func EffectiveTime(kind meter.Kind, t int64) int64 {
	if kind == meter.Interval {
		return t - 1
	}
	return t
}

// ksum is a Neumaier compensated sum: consumption sums thousands of small
// increments of a large register, and the 1e-6 m³ closure test must hold.
type ksum struct{ s, c float64 }

func (k *ksum) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k ksum) value() float64 { return k.s + k.c }
