package contract

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/savings"
)

// Boundary returns the metering points whose intake the contract measures,
// sorted by ID: option B its points, each of which must be the
// enterprise's and have a volume channel; option C the enterprise's level-1
// intake points (balance.IsIntake), the intake Vi of its balance.
func Boundary(c Contract, points []meter.Point) ([]meter.Point, error) {
	byID := map[string]meter.Point{}
	for _, p := range points {
		if p.Enterprise == c.Enterprise {
			byID[p.ID] = p
		}
	}
	var out []meter.Point
	switch c.Option {
	case RetrofitIsolation:
		for _, id := range c.Points {
			p, ok := byID[id]
			if !ok {
				return nil, fmt.Errorf("contract %s: point %s is not a metering point of enterprise %s", c.ID, id, c.Enterprise)
			}
			if _, ok := balance.VolumeChannel(p); !ok {
				return nil, fmt.Errorf("contract %s: point %s has no volume channel", c.ID, id)
			}
			out = append(out, p)
		}
	default:
		for _, p := range byID {
			if _, ok := balance.VolumeChannel(p); ok && balance.IsIntake(p) {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("contract %s: enterprise %s has no level-1 intake point with a volume channel", c.ID, c.Enterprise)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Hourly is the width of the buckets a boundary's intake is read in
// (balance.PeriodBucket).
const Hourly = time.Hour

// PeriodIntake is one model period's metered intake over the boundary.
type PeriodIntake struct {
	M3       float64
	Coverage float64  // least fraction of valid hours over the boundary's points
	Missing  []string // boundary points with no valid hour in the period
}

// PeriodIntakes applies balance.PeriodVolumes to each model period: buckets
// holds, per boundary point, its hourly consumption from start on (as the
// ledger's recomputation in `verify savings` gives it); a period's intake
// is the sum of the boundary points' period volumes. RunIntakes is the
// same rule over runs of hours summed beforehand (the store's day and
// month pre-totals): the platform (internal/mv) splits a contract's span
// with it, and both give the same intake to the last bit
// (balance.PeriodVolumes sums exactly).
func PeriodIntakes(boundary []meter.Point, start time.Time, buckets map[string][]balance.BucketVolume, periods []Span) []PeriodIntake {
	out := make([]PeriodIntake, len(periods))
	for i, q := range periods {
		lo, hi := int(q.From.Sub(start)/Hourly), int(q.To.Sub(start)/Hourly)
		in := make([]balance.PointBuckets, 0, len(boundary))
		for _, p := range boundary {
			b := buckets[p.ID]
			a, z := min(max(lo, 0), len(b)), min(max(hi, 0), len(b))
			pb := balance.PointBuckets{Point: p.ID, Buckets: make([]balance.BucketVolume, hi-lo)}
			copy(pb.Buckets[max(0, -lo):], b[a:z])
			in = append(in, pb)
		}
		out[i] = boundaryIntake(boundary, in)
	}
	return out
}

// Run is one point's consumption over [From, To) on the hour grid, its
// hours summed beforehand: one hour, or a whole day or month of a store's
// pre-totals.
type Run struct {
	From, To time.Time
	Total    balance.IntervalTotal
}

// RunIntakes is PeriodIntakes over runs: runs holds, per boundary point,
// its runs in time order, not overlapping. The hours of a period that no
// run covers count as hours without a valid value, as missing buckets do
// in PeriodIntakes. A run that starts inside a period and ends outside it
// (or the reverse) cannot be split: it is an error naming both.
func RunIntakes(boundary []meter.Point, runs map[string][]Run, periods []Span) ([]PeriodIntake, error) {
	out := make([]PeriodIntake, len(periods))
	for i, q := range periods {
		hours := int(q.To.Sub(q.From) / Hourly)
		in := make([]balance.PointBuckets, 0, len(boundary))
		for _, p := range boundary {
			rs := runs[p.ID]
			// The first run ending after the period starts.
			k := sort.Search(len(rs), func(k int) bool { return rs[k].To.After(q.From) })
			pb := balance.PointBuckets{Point: p.ID}
			covered := 0
			for ; k < len(rs) && rs[k].From.Before(q.To); k++ {
				r := rs[k]
				if r.From.Before(q.From) || r.To.After(q.To) {
					return nil, fmt.Errorf("point %s: the run %s … %s crosses the bounds of period %s … %s", p.ID,
						r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
				}
				pb.Totals = append(pb.Totals, r.Total)
				covered += r.Total.Intervals
			}
			if covered < hours {
				pb.Totals = append(pb.Totals, balance.IntervalTotal{Intervals: hours - covered})
			}
			in = append(in, pb)
		}
		out[i] = boundaryIntake(boundary, in)
	}
	return out, nil
}

// boundaryIntake is one period's intake from its boundary points'
// intervals: each point's volume by balance.PeriodVolumes, summed in the
// boundary's order; the least coverage; the points without a valid hour.
func boundaryIntake(boundary []meter.Point, in []balance.PointBuckets) PeriodIntake {
	vol, cov := balance.PeriodVolumes(in)
	r := PeriodIntake{Coverage: 1}
	for _, p := range boundary {
		v, ok := vol[p.ID]
		if !ok {
			r.Missing = append(r.Missing, p.ID)
		}
		r.M3 += v
		r.Coverage = math.Min(r.Coverage, cov[p.ID])
	}
	return r
}

// DriverValue is a driver's value over a model period, prorated in
// proportion to time from the records that overlap it (production records
// for output and value added, the contract's declared values otherwise),
// with the fraction of the period they cover.
func DriverValue(d Driver, q Span, recs []production.Record, declared []DeclaredValue) (value, coverage float64) {
	return driverSeries(d, recs, declared).value(q)
}

// series is one driver's values, sorted by start; they do not overlap
// (production records of one series and a declared driver's values are
// refused when they do).
type series []DeclaredValue

func driverSeries(d Driver, recs []production.Record, declared []DeclaredValue) series {
	var s series
	switch d.Kind {
	case OutputDriver, ValueAddedDriver:
		for _, r := range recs {
			if d.Kind == OutputDriver && (r.Kind != production.Output || r.Product != d.Product) ||
				d.Kind == ValueAddedDriver && r.Kind != production.ValueAdded {
				continue
			}
			s = append(s, DeclaredValue{From: r.From, To: r.To, Value: r.Quantity})
		}
	case DeclaredDriver:
		for _, v := range declared {
			if v.Driver == d.Name {
				s = append(s, v)
			}
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].From.Before(s[j].From) })
	return s
}

func (s series) value(q Span) (value, coverage float64) {
	whole := float64(q.To.Sub(q.From))
	// The first value ending after the period starts.
	i := sort.Search(len(s), func(i int) bool { return s[i].To.After(q.From) })
	for ; i < len(s) && s[i].From.Before(q.To); i++ {
		v := s[i]
		lo, hi := maxT(v.From, q.From), minT(v.To, q.To)
		if !hi.After(lo) || !v.To.After(v.From) {
			continue
		}
		value += v.Value * float64(hi.Sub(lo)) / float64(v.To.Sub(v.From))
		coverage += float64(hi.Sub(lo)) / whole
	}
	return value, math.Min(coverage, 1)
}

// coverageTolerance absorbs rounding in a sum of covered fractions.
const coverageTolerance = 1e-9

// Figures returns the model periods of a span with their drivers filled
// from the records, refusing a period a driver's records do not cover in
// full, naming the driver and the period.
func Figures(c Contract, s Span, recs []production.Record) ([]PeriodFigures, error) {
	var out []PeriodFigures
	ser := make([]series, len(c.Drivers))
	for i, d := range c.Drivers {
		ser[i] = driverSeries(d, recs, c.Declared)
	}
	for _, q := range Periods(s, c.Granularity) {
		f := PeriodFigures{Label: Label(q.From, c.Granularity), From: q.From, To: q.To, Drivers: map[string]float64{}}
		for i, d := range c.Drivers {
			v, cov := ser[i].value(q)
			if cov < 1-coverageTolerance {
				return nil, fmt.Errorf("driver %s missing in period %s: its records cover %.1f %% of it", d.Name, f.Label, 100*cov)
			}
			f.Drivers[d.Name] = v
		}
		out = append(out, f)
	}
	return out, nil
}

// Checkpoint is the ledger checkpoint a statement's metered data were read at.
type Checkpoint struct {
	Size uint64
	Root string // hex
}

// Evaluate is the M&V of one reporting period (index into c.Reporting):
// the baseline model fitted on the baseline periods' metered intake and
// drivers (package savings: OLS, Guideline 14 statistics), applied to the
// reporting periods, with the non-routine adjustments; it returns the
// record with its sealed statement. The platform and `verify savings` both
// compute a statement with it.
func Evaluate(c Contract, reporting int, baseline, rep []PeriodFigures, adj []Adjustment, cp Checkpoint) (Record, error) {
	if reporting < 0 || reporting >= len(c.Reporting) {
		return Record{}, fmt.Errorf("contract %s has no reporting period %d", c.ID, reporting+1)
	}
	names := make([]string, len(c.Drivers))
	for i, d := range c.Drivers {
		names[i] = d.Name
	}
	g := savings.Monthly
	if c.Granularity == Daily {
		g = savings.Daily
	}
	table := func(name string, fs []PeriodFigures) (savings.Table, error) {
		t := savings.Table{Name: name, Drivers: names, Granularity: g}
		for _, f := range fs {
			l := f.From.In(production.Zone)
			p := savings.Period{Label: f.Label, Start: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), Intake: f.IntakeM3}
			for _, n := range names {
				v, ok := f.Drivers[n]
				if !ok {
					return t, fmt.Errorf("%s period %s: driver %s missing", name, f.Label, n)
				}
				p.Drivers = append(p.Drivers, v)
			}
			t.Periods = append(t.Periods, p)
		}
		return t, nil
	}
	bt, err := table("baseline", baseline)
	if err != nil {
		return Record{}, err
	}
	rt, err := table("reporting", rep)
	if err != nil {
		return Record{}, err
	}
	sa := make([]savings.Adjustment, len(adj))
	for i, a := range adj {
		sa[i] = savings.Adjustment{Period: a.Period, M3: a.M3, Reason: a.Reason}
	}
	res, err := savings.Compute(bt, rt, sa)
	if err != nil {
		return Record{}, err
	}
	m, _ := savings.Fit(bt) // Compute fitted the same table
	span := c.Reporting[reporting]
	r := Record{
		Statement: Statement{Contract: c.ID, Enterprise: c.Enterprise, From: span.From.UTC(), To: span.To.UTC(),
			AdjustedBaselineM3: res.AdjustedBaseline, ReportingM3: res.Reporting, SavingsM3: res.Savings,
			UncertaintyM3: res.Uncertainty, MeetsGuideline14: res.MeetsGuideline14, CheckpointSize: cp.Size, CheckpointRoot: cp.Root},
		Option: c.Option, Points: c.Points, Granularity: c.Granularity, Drivers: c.Drivers, Model: res.Model,
		CVRMSE: res.CVRMSE, NMBE: res.NMBE, R2: res.R2, LimitCVRMSE: res.LimitCVRMSE, LimitNMBE: res.LimitNMBE,
		T: res.T, Autocorrelation: res.Autocorrelation, UncertaintyAuto: res.UncertaintyCorrected,
		RoutineM3: res.Routine, NonRoutineM3: res.NonRoutine, Warnings: res.Warnings,
		Baseline: append([]PeriodFigures(nil), baseline...), Reporting: append([]PeriodFigures(nil), rep...),
		Adjustments: append([]Adjustment{}, adj...),
	}
	r.ServiceCompanyM3 = res.Savings * c.ServiceCompanyShare
	r.EnterpriseM3 = res.Savings - r.ServiceCompanyM3
	perAdj := map[string]float64{}
	for _, a := range adj {
		perAdj[a.Period] = a.M3
	}
	for i := range r.Baseline {
		r.Baseline[i].ModelM3 = m.Predict(bt.Periods[i].Drivers)
	}
	for i := range r.Reporting {
		r.Reporting[i].ModelM3 = m.Predict(rt.Periods[i].Drivers)
		r.Reporting[i].Adjusted = perAdj[r.Reporting[i].Label]
	}
	if err := r.Statement.Seal(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// CheckAdjustments checks non-routine adjustments before they are applied:
// each names a model period of the reporting period, gives its reason and
// who recorded it.
func CheckAdjustments(c Contract, reporting int, adj []Adjustment) error {
	labels := map[string]bool{}
	for _, q := range Periods(c.Reporting[reporting], c.Granularity) {
		labels[Label(q.From, c.Granularity)] = true
	}
	for i, a := range adj {
		field := fmt.Sprintf("adjustments[%d]", i)
		switch {
		case !labels[a.Period]:
			return fieldErr(field+".period", "%q is not a %s of reporting period %d", a.Period, c.Granularity, reporting+1)
		case strings.TrimSpace(a.Reason) == "" || len(a.Reason) > 500:
			return fieldErr(field+".reason", "a non-routine adjustment needs its reason (at most 500 bytes)")
		case math.IsNaN(a.M3) || math.IsInf(a.M3, 0) || math.Abs(a.M3) > savings.MaxIntake:
			return fieldErr(field+".m3", "%g m³ is not a usable volume", a.M3)
		}
	}
	return nil
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
