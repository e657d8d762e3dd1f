package store

import (
	"context"
	"time"

	"github.com/shuixiao/shuixiao/consumption"
)

// Total is the consumption of one series over [Start, End) on the hour
// grid, summed: one hour bucket, or a store's pre-total of a whole local
// day or month (TotalsReader). It carries what the period-volume rule
// (balance.PeriodVolumes) and the metered window of a roll-up need: how
// many hours it stands for, how many were valid, the exact sum of the valid
// ones, and the first and last valid hour with their values.
type Total struct {
	Start, End       time.Time
	Intervals, Valid int
	Sum              consumption.Sum
	// FirstValid and LastValid are the starts of the first and last valid
	// hours (zero when Valid is 0); FirstValue and LastValue their values.
	FirstValid, LastValid time.Time
	FirstValue, LastValue float64
}

// SeriesTotals is one series' totals over a query's range.
type SeriesTotals struct {
	Series Series
	Totals []Total
}

// TotalsReader is implemented by a store that keeps consumption pre-totals
// of whole local days and months, built when readings are compacted into
// hour summaries and dropped when a later reading changes any of their
// hours.
type TotalsReader interface {
	// ConsumptionTotals returns, for each series of q in q's order, the
	// pre-totals lying inside [q.From, q.To) that are current: in time
	// order, not overlapping, a month's where it has one, else its days'.
	// q.Interval must be Hour (the intervals the totals count); the totals
	// are the store's calendar days and months (Asia/Shanghai unless
	// configured otherwise), answered to a query in any zone whose hour
	// grid they lie on.
	// Every total equals, to the last bit, the sum of the hour buckets a
	// Consumption query answers for its hours at the same moment; the time
	// the totals leave uncovered must be read with Consumption.
	ConsumptionTotals(ctx context.Context, q ConsumptionQuery) ([]SeriesTotals, error)
}
