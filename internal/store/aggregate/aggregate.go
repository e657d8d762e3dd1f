// Package aggregate is the aggregation engine every store implementation
// shares, in the store's query types (store.Interval, store.Fn,
// store.Bucket). The rules themselves — register arithmetic, rollover and
// reset, apportioning consumption to buckets, interval totals, calendar
// grids — are the library package consumption's, which the independent
// verifier uses too; this package names them for the store and adds what
// only the store's API has (aggregation functions, raw buckets).
package aggregate

import (
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/internal/store"
)

// The engine's types (package consumption).
type (
	Acc     = consumption.Acc
	Counter = consumption.Counter
	Grid    = consumption.Grid
	Point   = consumption.Point
	Summary = consumption.Summary
)

// The engine's functions (package consumption).
var (
	Accumulate      = consumption.Accumulate
	CounterFor      = consumption.CounterFor
	EffectiveTime   = consumption.EffectiveTime
	RolloverModulus = consumption.RolloverModulus
	Single          = consumption.Single
	SortDedup       = consumption.SortDedup
	Summarize       = consumption.Summarize
)

// NewGrid builds the grid of [from, to) for a bucketed interval (not Raw);
// loc nil means UTC. Its errors wrap store.ErrInvalid.
func NewGrid(from, to time.Time, iv store.Interval, loc *time.Location) (Grid, error) {
	g, err := consumption.NewGrid(from, to, consumption.Interval(iv), loc)
	if err != nil {
		return Grid{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return g, nil
}
