// Package rollup computes the year's figures of every enterprise of the
// province from the store, for the plan's targets (package target), the
// water-saving enterprise evaluation and benchmarking (package evaluate).
//
// An enterprise-year is declared or metered:
//
//   - declared when the enterprise's declared intake statistics
//     (production records of kind intake) cover every day of the year: intake,
//     reuse and non-conventional water are the records' quantities, value
//     added and output those reported for the year (production.Record.Prorated);
//   - metered otherwise: the consumption of every volume point over the year
//     (up to now) is read from the store's rollups in large batches, on the
//     same hourly grid as the single-enterprise balance (periodvol.Interval;
//     whole days and months from the store's pre-totals, periodvol.Read),
//     cut to the metered window — the buckets from the first to the last any
//     of its points has a value in, less those two where they are not the
//     period's own edges (they are partial) — turned into volumes by
//     balance.PeriodVolumes and evaluated by balance.Evaluate, with the value
//     added and output reported for the window (records prorated by time).
//     So a plant metered since March is judged on March to now against
//     March-to-now value added, and a demo started at noon on its afternoon.
//
// A past year is not read for an enterprise whose first reading came after
// it (store.FirstReader): it could hold no consumption.
//
// Snapshots are cached per year (Service): a fresh one is answered at once, a
// stale one too while a new one is computed in the background, and a year
// without one is answered with its computation's progress.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/target"
)

// Source is the part of the store a roll-up reads.
type Source interface {
	Regions(ctx context.Context) ([]meter.Region, error)
	Parks(ctx context.Context, f store.Filter) ([]meter.Park, error)
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	periodvol.Source
	ProductionRecords(ctx context.Context, f production.Filter) ([]production.Record, error)
}

// Options configure a roll-up.
type Options struct {
	Province string         // GB/T 2260 code; default 430000 (Hunan)
	Location *time.Location // day boundaries; default production.Zone
	Settings balance.Settings
	// Interval is the grid consumption is read on; default
	// periodvol.Interval, the single-enterprise balance's.
	Interval store.Interval
	// BatchBuckets bounds the buckets one store query returns (series ×
	// buckets per series); default 2,000,000 (about 100 MB).
	BatchBuckets int
	// Workers run store queries in parallel; default GOMAXPROCS.
	Workers int
	// Headline limits each enterprise's balance (Metered.Report) to the
	// figures a target year keeps (balance.Options.Headline): what a
	// snapshot needs of 5,000 enterprises. Off, it is the full balance.
	Headline bool

	// progress, when set, counts the series read (Service.start).
	progress *progress
}

func (o Options) withDefaults() Options {
	if o.Province == "" {
		o.Province = "430000"
	}
	if o.Location == nil {
		o.Location = production.Zone
	}
	if o.Settings == (balance.Settings{}) {
		o.Settings = balance.DefaultSettings()
	}
	if o.Interval == "" {
		o.Interval = periodvol.Interval
	}
	if o.BatchBuckets <= 0 {
		o.BatchBuckets = 2_000_000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Metered is an enterprise's metered figures over its window.
type Metered struct {
	From, To time.Time // the metered window
	Report   balance.Report
	Coverage map[string]float64 // per point, within the window
	Output   map[string]float64 // output reported for the window, by product
	// ValueAdded is the value added reported for the window (10⁴ CNY).
	ValueAdded target.Quantity
}

// Year turns the metered figures into a target year.
func (m Metered) Year(year int) target.Year {
	y := target.Year{Year: year, Basis: target.Metered, ValueAdded: m.ValueAdded, Output: m.Output}
	q := func(f balance.Figure) target.Quantity { return target.Quantity{Value: f.Value, OK: f.OK} }
	y.Intake, y.Reuse, y.NonConventional = q(m.Report.Intake), q(m.Report.Reuse), q(m.Report.NonConventional)
	return y
}

// Snapshot is the roll-up of a year, with the years since 2020 for the
// trajectory.
type Snapshot struct {
	Year     int
	Computed time.Time
	Took     time.Duration
	Tree     *target.Tree
	// Figures are each enterprise's figures by year, then enterprise.
	Figures     map[int]map[string]target.Year
	Enterprises map[string]meter.Enterprise
	// Series is the number of volume series read from the store.
	Series int
}

// Compute makes the snapshot of year: every enterprise's figures for 2020 to
// year, declared or metered, rolled up. now bounds the metered period of the
// current year.
func Compute(ctx context.Context, src Source, year int, now time.Time, opts Options) (*Snapshot, error) {
	return compute(ctx, src, year, now, opts, nil)
}

// compute is Compute with the metered figures of past years taken from
// memo where it holds them for the same enterprises.
func compute(ctx context.Context, src Source, year int, now time.Time, opts Options, memo *pastYears) (*Snapshot, error) {
	opts = opts.withDefaults()
	start := time.Now()
	prov, regions, parks, ents, err := registry(ctx, src, opts.Province)
	if err != nil {
		return nil, err
	}
	pts, err := src.Points(ctx, store.Filter{})
	if err != nil {
		return nil, fmt.Errorf("rollup: points: %w", err)
	}
	s := &Snapshot{Year: year, Figures: map[int]map[string]target.Year{}, Enterprises: map[string]meter.Enterprise{}}
	// The points are not kept with the snapshot: half a million of them
	// would hold some 150 MB in the cache.
	var ids []string
	for _, e := range ents {
		s.Enterprises[e.ID] = e
		ids = append(ids, e.ID)
	}
	points := byEnterprise(pts, s.Enterprises)
	first := time.Date(target.BaseYear, 1, 1, 0, 0, 0, 0, opts.Location)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, opts.Location)
	recs, err := src.ProductionRecords(ctx, production.Filter{Enterprises: ids, From: first, To: end})
	if err != nil {
		return nil, fmt.Errorf("rollup: production records: %w", err)
	}
	byEnt := map[string][]production.Record{}
	for _, r := range recs {
		byEnt[r.Enterprise] = append(byEnt[r.Enterprise], r)
	}
	since, err := firstReadings(ctx, src, points)
	if err != nil {
		return nil, err
	}
	// Every year's plan first, so that the series to read are known.
	type yearPlan struct {
		from, to time.Time
		figs     map[string]target.Year
		metered  []string // read from the meters
		past     bool     // the whole year is behind now
		memo     map[string]target.Year
	}
	plans := make([]yearPlan, 0, year-target.BaseYear+1)
	var toRead int64
	for y := target.BaseYear; y <= year; y++ {
		p := yearPlan{figs: map[string]target.Year{}}
		p.from, p.to = yearBounds(y, now, opts.Location)
		p.past = p.to.Equal(time.Date(y+1, 1, 1, 0, 0, 0, 0, opts.Location))
		for _, id := range ids {
			if d, ok := Declared(byEnt[id], y, opts.Location); ok {
				p.figs[id] = d
			} else if p.to.After(p.from) && readBy(since, id, p.to, p.past) {
				p.metered = append(p.metered, id)
			}
		}
		if got, ok := memo.get(y, p.metered, now); ok && p.past {
			p.memo = got
		} else {
			toRead += int64(volumeSeries(p.metered, points))
		}
		plans = append(plans, p)
	}
	if opts.progress != nil {
		opts.progress.toRead.Store(toRead)
	}
	for i, p := range plans {
		y := target.BaseYear + i
		figs := p.figs
		if p.memo != nil {
			for id, f := range p.memo {
				figs[id] = f
			}
		} else if len(p.metered) > 0 {
			got := map[string]target.Year{}
			// Only the year's figures are kept.
			headline := opts
			headline.Headline = true
			n, err := MeteredAll(ctx, src, p.metered, points, byEnt, p.from, p.to, headline, func(id string, m Metered) { got[id] = m.Year(y) })
			if err != nil {
				return nil, err
			}
			s.Series += n
			for id, f := range got {
				figs[id] = f
			}
			if p.past {
				memo.put(y, p.metered, got, now)
			}
		}
		s.Figures[y] = figs
	}
	in := target.Input{Province: prov, Regions: regions, Parks: parks, Enterprises: ents, Figures: map[string][]target.Year{}}
	for y := target.BaseYear; y <= year; y++ {
		for id, f := range s.Figures[y] {
			in.Figures[id] = append(in.Figures[id], f)
		}
	}
	if s.Tree, err = target.Build(in); err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	s.Computed, s.Took = now, time.Since(start)
	return s, nil
}

// byEnterprise groups the points of the enterprises in ents by
// enterprise, in their order. A point list sorted by ID holds each
// enterprise's points in a run, mostly: a run is kept as a window of pts
// (half a million points are not copied), an enterprise met again gets a
// copy of its own.
func byEnterprise[E any](pts []meter.Point, ents map[string]E) map[string][]meter.Point {
	out := make(map[string][]meter.Point, len(ents))
	for i := 0; i < len(pts); {
		e, j := pts[i].Enterprise, i+1
		for j < len(pts) && pts[j].Enterprise == e {
			j++
		}
		if _, ok := ents[e]; ok {
			if prev, ok := out[e]; ok {
				out[e] = append(slices.Clip(prev), pts[i:j]...)
			} else {
				out[e] = pts[i:j:j]
			}
		}
		i = j
	}
	return out
}

// PastMaxAge is how long the metered figures of a past year are reused by
// the next snapshots: a past year changes only by late readings.
const PastMaxAge = 24 * time.Hour

// pastYears keeps the metered figures of past years between snapshots, for
// the enterprises they were computed for; a nil *pastYears keeps nothing.
type pastYears struct {
	mu    sync.Mutex
	years map[int]pastYear
}

type pastYear struct {
	ids  []string // the enterprises metered that year, sorted
	figs map[string]target.Year
	at   time.Time
}

func (p *pastYears) get(year int, ids []string, now time.Time) (map[string]target.Year, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.years[year]
	if !ok || now.Sub(e.at) >= PastMaxAge || !slices.Equal(e.ids, ids) {
		return nil, false
	}
	return e.figs, true
}

func (p *pastYears) put(year int, ids []string, figs map[string]target.Year, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.years == nil {
		p.years = map[int]pastYear{}
	}
	p.years[year] = pastYear{ids: slices.Clone(ids), figs: figs, at: now}
}

func (p *pastYears) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.years = nil
}

// registry reads the province, its cities, and the parks and enterprises in
// it.
func registry(ctx context.Context, src Source, province string) (meter.Region, []meter.Region, []meter.Park, []meter.Enterprise, error) {
	regions, err := src.Regions(ctx)
	if err != nil {
		return meter.Region{}, nil, nil, nil, fmt.Errorf("rollup: regions: %w", err)
	}
	prov := meter.Region{Code: province}
	for _, r := range regions {
		if r.Code == province {
			prov = r
		}
	}
	if prov.Name == "" {
		for _, r := range meter.HunanRegions() {
			if r.Code == province {
				prov = r
			}
		}
	}
	// Cities known to the catalogue but not registered still hold the
	// enterprises whose region codes name them.
	known := map[string]bool{}
	for _, r := range regions {
		known[r.Code] = true
	}
	for _, r := range meter.HunanRegions() {
		if !known[r.Code] {
			regions = append(regions, r)
		}
	}
	parks, err := src.Parks(ctx, store.Filter{Region: province})
	if err != nil {
		return prov, nil, nil, nil, fmt.Errorf("rollup: parks: %w", err)
	}
	ents, err := src.Enterprises(ctx, store.Filter{Region: province})
	if err != nil {
		return prov, nil, nil, nil, fmt.Errorf("rollup: enterprises: %w", err)
	}
	return prov, regions, parks, ents, nil
}

// yearBounds is the period of year read from the meters: the year, or for
// the current year up to now (to the minute; the last hour's bucket is then
// partial, and the metered window ends at now).
func yearBounds(year int, now time.Time, loc *time.Location) (time.Time, time.Time) {
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	if n := now.Truncate(time.Minute); n.Before(to) {
		to = n
	}
	return from, to
}

// Declared returns an enterprise's declared figures for year when its
// declared intake records cover every day of the year; the other records
// (reuse, non-conventional, value added, output) are counted for the year
// where there are any.
func Declared(recs []production.Record, year int, loc *time.Location) (target.Year, bool) {
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	days := 0
	for _, r := range recs {
		if r.Kind == production.Intake {
			days += r.Overlap(from, to)
		}
	}
	if days < production.Days(from, to) {
		return target.Year{}, false
	}
	y := target.Year{Year: year, Basis: target.Declared}
	sums := reported(recs, from, to)
	y.Intake, y.Reuse, y.NonConventional, y.ValueAdded = sums.kind[production.Intake], sums.kind[production.Reuse],
		sums.kind[production.NonConventional], sums.kind[production.ValueAdded]
	y.Output = sums.output
	return y, true
}

// reports are records summed over a period.
type reports struct {
	kind   map[production.Kind]target.Quantity
	output map[string]float64
}

// reported sums what the records report for [from, to), each in
// proportion to the time it shares with the period
// (production.Record.Prorated): a metered window may start and end within
// a day, and a day's value added then counts for the hours metered.
func reported(recs []production.Record, from, to time.Time) reports {
	s := reports{kind: map[production.Kind]target.Quantity{}}
	for _, r := range recs {
		q, share := r.Prorated(from, to)
		if share == 0 {
			continue
		}
		if r.Kind == production.Output {
			if s.output == nil {
				s.output = map[string]float64{}
			}
			s.output[r.Product] += q
			continue
		}
		k := s.kind[r.Kind]
		s.kind[r.Kind] = target.Known(k.Value + q)
	}
	return s
}

// MeteredAll computes the metered figures of enterprises over [from, to),
// reading the consumption of their volume points from the store in batches
// of whole enterprises, several batches at a time. It calls fn (one call at
// a time) with the figures of each enterprise with any metered data, and
// returns the number of series read.
func MeteredAll(ctx context.Context, src periodvol.Source, ids []string, points map[string][]meter.Point,
	recs map[string][]production.Record, from, to time.Time, opts Options, fn func(id string, m Metered)) (int, error) {
	opts = opts.withDefaults()
	perSeries := buckets(from, to, opts.Interval)
	// Every enterprise's volume series, in the order of ids: an enterprise
	// and a batch of them are a run of all.
	all := make([]store.SeriesTotals, 0, volumeSeries(ids, points))
	ents := make([]entSeries, 0, len(ids))
	for _, id := range ids {
		lo := len(all)
		for _, p := range points[id] {
			if ch, ok := balance.VolumeChannel(p); ok {
				all = append(all, store.SeriesTotals{Series: store.Series{Point: p.ID, Channel: ch}})
			}
		}
		if len(all) > lo {
			ents = append(ents, entSeries{id: id, lo: lo, hi: len(all)})
		}
	}
	// With pre-totals, every series' whole days and months are read first
	// in one query (a few rows a series), the batches then read only the
	// hours at the edges.
	if _, ok := src.(store.TotalsReader); ok && opts.Interval == store.Hour {
		if err := parallelTotals(ctx, src, all, from, to, opts); err != nil {
			return 0, fmt.Errorf("rollup: consumption totals %s–%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), err)
		}
		perSeries = min(perSeries, 128)
	}
	var batches [][]entSeries
	first := 0
	for i, e := range ents {
		if i > first && (e.hi-ents[first].lo)*perSeries > opts.BatchBuckets {
			batches = append(batches, ents[first:i])
			first = i
		}
	}
	if first < len(ents) {
		batches = append(batches, ents[first:])
	}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan []entSeries)
	errs := make(chan error, opts.Workers)
	var wg sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				m, err := meteredBatch(ctx, src, b, all[b[0].lo:b[len(b)-1].hi], points, recs, from, to, opts)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				mu.Lock()
				for i, e := range b {
					if m[i].ok {
						fn(e.id, m[i].Metered)
					}
				}
				mu.Unlock()
				if opts.progress != nil {
					opts.progress.read.Add(int64(b[len(b)-1].hi - b[0].lo))
				}
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return len(all), nil
}

// volumeSeries is the number of volume series of the enterprises ids.
func volumeSeries(ids []string, points map[string][]meter.Point) int {
	n := 0
	for _, id := range ids {
		for _, p := range points[id] {
			if _, ok := balance.VolumeChannel(p); ok {
				n++
			}
		}
	}
	return n
}

// firstReadings is, per enterprise of points, the device time of the
// earliest reading of any of its points, where src keeps it
// (store.FirstReader); nil otherwise (every year is read). An enterprise
// whose points have no reading is absent.
func firstReadings(ctx context.Context, src Source, points map[string][]meter.Point) (map[string]time.Time, error) {
	fr, ok := src.(store.FirstReader)
	if !ok {
		return nil, nil
	}
	byPoint, err := fr.FirstReadings(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: first readings: %w", err)
	}
	out := map[string]time.Time{}
	for id, pts := range points {
		for _, p := range pts {
			if t, ok := byPoint[p.ID]; ok {
				if f, seen := out[id]; !seen || t.Before(f) {
					out[id] = t
				}
			}
		}
	}
	return out, nil
}

// readBy reports whether an enterprise may have metered data in a year
// that ended at to: unless since (firstReadings) is known and says that
// its first reading came after to. A bucket holds no consumption from
// before the first reading — a reading pair's goes to the buckets its span
// overlaps, an interval total to the bucket of the instant before its time
// (consumption.EffectiveTime) — and the year's end is a bucket boundary on
// every grid, so the year's buckets hold nothing of readings after to:
// none is valid, and the enterprise has no metered figures for the year
// whether it is read or not. The current year (a period cut at now, its
// last bucket partial) is always read.
func readBy(since map[string]time.Time, id string, to time.Time, whole bool) bool {
	if since == nil || !whole {
		return true
	}
	t, ok := since[id]
	return ok && !t.After(to)
}

// entSeries is an enterprise's volume series: all[lo:hi] in MeteredAll.
type entSeries struct {
	id     string
	lo, hi int
}

// parallelTotals reads the series' pre-totals into sts in opts.Workers
// queries at once, each over a contiguous run of the series sorted by
// point (the store reads a month of many series as one range of points).
func parallelTotals(ctx context.Context, src periodvol.Source, sts []store.SeriesTotals, from, to time.Time, opts Options) error {
	order := make([]int, len(sts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(sts[a].Series.Point, sts[b].Series.Point) })
	series := make([]store.Series, len(sts))
	for k, i := range order {
		series[k] = sts[i].Series
	}
	parts := max(1, min(opts.Workers, len(series)/4096))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*len(series)/parts, (k+1)*len(series)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := periodvol.Totals(ctx, src, series[lo:hi], from, to, opts.Interval, opts.Location)
			if err != nil {
				errs[k] = err
				return
			}
			// Clipped: the hours Fill adds to one series must not
			// land in another's totals.
			for j, st := range got {
				sts[order[lo+j]].Totals = slices.Clip(st.Totals)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// buckets is the number of buckets of [from, to) on the grid (an upper
// bound for months).
func buckets(from, to time.Time, iv store.Interval) int {
	var step time.Duration
	switch iv {
	case store.Min15:
		step = 15 * time.Minute
	case store.Hour:
		step = time.Hour
	case store.Day:
		step = 24 * time.Hour
	default:
		step = 28 * 24 * time.Hour
	}
	return int(to.Sub(from)/step) + 2
}

// batchResult is one enterprise's figures in a batch; ok false when it
// has no metered data.
type batchResult struct {
	Metered
	ok bool
}

// meteredBatch computes one batch of enterprises from their series (sts,
// all[b[0].lo:b[len(b)-1].hi], holding their pre-totals if any), reading
// the hours the pre-totals leave uncovered (periodvol.Fill).
func meteredBatch(ctx context.Context, src periodvol.Source, b []entSeries, sts []store.SeriesTotals, points map[string][]meter.Point,
	recs map[string][]production.Record, from, to time.Time, opts Options) ([]batchResult, error) {
	if err := periodvol.Fill(ctx, src, sts, from, to, opts.Interval, opts.Location); err != nil {
		return nil, fmt.Errorf("rollup: consumption %s–%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), err)
	}
	out := make([]batchResult, len(b))
	base := b[0].lo
	for i, e := range b {
		out[i].Metered, out[i].ok = EnterpriseMetered(points[e.id], sts[e.lo-base:e.hi-base], recs[e.id], to, opts)
	}
	return out, nil
}

// bucketEnd is the end of the bucket that starts at t.
func bucketEnd(t time.Time, iv store.Interval, loc *time.Location) time.Time {
	switch iv {
	case store.Min15:
		return t.Add(15 * time.Minute)
	case store.Hour:
		return t.Add(time.Hour)
	case store.Day:
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	y, m, _ := t.In(loc).Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
}

// EnterpriseMetered makes one enterprise's metered figures from the
// consumption of its points over a period ending at end (periodvol.Read's
// totals, none past end): the rule of the package doc, shared by the bulk
// roll-up and the single enterprise's evaluation. False when no point has a
// value in the period.
//
// A pre-total of days that the window's first or last bucket falls in is
// cut exactly: the window starts after the enterprise's first valid bucket
// and ends before its last, so the only valid bucket a total has outside
// the window is its first (last) one, which it carries with its value.
func EnterpriseMetered(points []meter.Point, sts []store.SeriesTotals, recs []production.Record, end time.Time, opts Options) (Metered, bool) {
	opts = opts.withDefaults()
	var lo, hi, first, last time.Time
	for _, st := range sts {
		if n := len(st.Totals); n > 0 {
			first, last = st.Totals[0].Start, lastBucket(st.Totals[n-1])
		}
		for _, t := range st.Totals {
			if t.Valid == 0 {
				continue
			}
			if lo.IsZero() || t.FirstValid.Before(lo) {
				lo = t.FirstValid
			}
			if t.LastValid.After(hi) {
				hi = t.LastValid
			}
		}
	}
	if lo.IsZero() {
		return Metered{}, false
	}
	// The first and the last bucket with data are partial unless they are
	// the period's own first and last (meters installed at 07:15 fill a
	// quarter of the 07:00 bucket); they are left out, so that volumes and
	// the value added they are set against cover the same time.
	wFrom, wTo := lo, bucketEnd(hi, opts.Interval, opts.Location)
	if !lo.Equal(first) {
		wFrom = bucketEnd(lo, opts.Interval, opts.Location)
	}
	if !hi.Equal(last) {
		wTo = hi
	}
	if wTo.After(end) {
		wTo = end
	}
	if !wTo.After(wFrom) {
		return Metered{}, false
	}
	in := make([]balance.PointBuckets, len(sts))
	n := 0
	for _, st := range sts {
		n += len(st.Totals)
	}
	buf := make([]balance.IntervalTotal, 0, n) // every point's totals, one after the other
	for i, st := range sts {
		in[i].Point = st.Series.Point
		lo := len(buf)
		for _, t := range st.Totals {
			if !t.Start.Before(wTo) || !t.End.After(wFrom) {
				continue
			}
			if t.Intervals > 1 && (t.Start.Before(wFrom) || t.End.After(wTo)) {
				t = cut(t, wFrom, wTo)
			}
			if !t.Start.Before(wFrom) || t.Intervals > 1 {
				buf = append(buf, balance.IntervalTotal{Intervals: t.Intervals, Valid: t.Valid, Sum: t.Sum})
			}
		}
		if len(buf) > lo {
			in[i].Totals = buf[lo:len(buf):len(buf)]
		}
	}
	vol, cov := balance.PeriodVolumes(in)
	rep := reported(recs, wFrom, wTo)
	m := Metered{From: wFrom, To: wTo, Coverage: cov, Output: rep.output, ValueAdded: rep.kind[production.ValueAdded]}
	var prods []balance.Production
	for _, name := range sortedKeys(rep.output) {
		p, _ := balance.LookupProduct(name)
		prods = append(prods, balance.Production{Product: name, Quantity: rep.output[name], Unit: p.Unit})
	}
	m.Report = balance.Evaluate(points, vol, balance.Options{Settings: opts.Settings, ValueAdded: m.ValueAdded.Value, Production: prods, Headline: opts.Headline})
	return m, true
}

// lastBucket is the start of a total's last bucket: a pre-total is hours.
func lastBucket(t store.Total) time.Time {
	if t.Intervals > 1 {
		return t.End.Add(-time.Hour)
	}
	return t.Start
}

// cut returns the part of a pre-total (hours) inside [wFrom, wTo): the
// hours outside are not valid but for its first (last) valid one, which is
// taken out exactly.
func cut(t store.Total, wFrom, wTo time.Time) store.Total {
	out := store.Total{Start: t.Start, End: t.End, Valid: t.Valid, Sum: t.Sum.Clone()}
	if t.Start.Before(wFrom) {
		out.Start = wFrom
		if t.Valid > 0 && t.FirstValid.Before(wFrom) {
			out.Valid--
			out.Sum.Sub(t.FirstValue)
		}
	}
	if t.End.After(wTo) {
		out.End = wTo
		if t.Valid > 0 && !t.LastValid.Before(wTo) && !(t.FirstValid.Equal(t.LastValid) && t.FirstValid.Before(wFrom)) {
			out.Valid--
			out.Sum.Sub(t.LastValue)
		}
	}
	out.Intervals = int(out.End.Sub(out.Start) / time.Hour)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
