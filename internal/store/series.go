package store

import (
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/reading"
)

// Series names one channel of one meter, or of one metering point (all the
// meters that ever served it). Exactly one of Meter and Point is set.
type Series struct {
	Meter   string `json:"meter,omitempty"`
	Point   string `json:"point,omitempty"`
	Channel string `json:"channel"`
}

// Validate checks that exactly one of Meter and Point is set and the channel
// name is valid.
func (s Series) Validate() error {
	if (s.Meter == "") == (s.Point == "") {
		return fmt.Errorf("series: %w: set exactly one of meter and point", ErrInvalid)
	}
	if !reading.ValidChannel(s.Channel) {
		return fmt.Errorf("series: %w: channel %q", ErrInvalid, s.Channel)
	}
	return nil
}

// String returns "meter:ID/channel" or "point:ID/channel".
func (s Series) String() string {
	if s.Meter != "" {
		return "meter:" + s.Meter + "/" + s.Channel
	}
	return "point:" + s.Point + "/" + s.Channel
}

// Interval is an aggregation bucket width.
type Interval string

// Intervals. Day and month buckets follow the calendar of the query's time
// zone (Asia/Shanghai by default), so a day closes at local midnight.
const (
	Raw   Interval = "raw" // one bucket per reading
	Min15 Interval = "15m"
	Hour  Interval = "1h"
	Day   Interval = "1d"
	Month Interval = "1mo"
)

// Valid reports whether iv is a known interval.
func (iv Interval) Valid() bool {
	switch iv {
	case Raw, Min15, Hour, Day, Month:
		return true
	}
	return false
}

// MaxRawBuckets bounds an Interval Raw aggregate; ask for a shorter range
// or use ScanReadings beyond it.
const MaxRawBuckets = 100000

// MaxBuckets bounds the number of buckets of one aggregate grid.
const MaxBuckets = consumption.MaxBuckets

// Fn is an aggregation function.
type Fn string

// Aggregation functions.
const (
	Avg  Fn = "avg"  // mean of the values (each reading weighs the same)
	Min  Fn = "min"  // smallest value
	Max  Fn = "max"  // largest value
	Last Fn = "last" // value of the latest reading
	Sum  Fn = "sum"  // sum of the values
	// Delta is consumption: for a running total the rollover- and
	// reset-aware increase apportioned to buckets by time; for an interval
	// total the sum of the intervals ending in the bucket. It is not defined
	// on rates (ErrInvalid).
	Delta Fn = "delta"
)

// Valid reports whether fn is a known function.
func (fn Fn) Valid() bool {
	switch fn {
	case Avg, Min, Max, Last, Sum, Delta:
		return true
	}
	return false
}

// AggregateQuery selects the buckets of one series.
type AggregateQuery struct {
	Series   Series
	From, To time.Time // [From, To); both required
	Interval Interval
	Fn       Fn
	// Location is the time zone of day and month buckets; nil means the
	// store's default (Asia/Shanghai unless configured otherwise).
	Location *time.Location
}

// ConsumptionQuery selects the consumption of many series on one grid.
type ConsumptionQuery struct {
	Series   []Series
	From, To time.Time
	Interval Interval // not Raw
	Location *time.Location
}

// Bucket is one aggregate value.
type Bucket struct {
	Start time.Time `json:"t"`
	// N counts the readings in the bucket. A delta bucket may have a value
	// with N == 0: consumption estimated across a gap in the readings.
	N     int     `json:"n"`
	Value float64 `json:"v"`
	// Valid is false when the bucket has no value (no readings, and for
	// delta no pair of readings spanning it).
	Valid bool `json:"valid"`
}

// SeriesBuckets is the result for one series of a multi-series query.
type SeriesBuckets struct {
	Series  Series   `json:"series"`
	Buckets []Bucket `json:"buckets"`
}

// DefaultLocation returns Asia/Shanghai from the system or embedded time
// zone database, or China Standard Time as a fixed UTC+8 zone if neither is
// available (China has kept UTC+8 without daylight saving since 1991).
func DefaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}
