// Package planuse tracks every enterprise's metered intake against its
// annual water-use plan (计划用水) and its withdrawal permits (取水许可) for a
// year, and each park's remaining allocation against the production it
// plans (以水定产). The rules are package waterplan's; this package reads
// the store and applies them.
//
// A month's intake by source is read with periodvol.Read — the store's
// day and month consumption pre-totals where they are current, the ragged
// edges and days without a current total hour by hour on the balance's own
// grid (periodvol.Interval) — many enterprises in one batch, and turned
// into volumes by the balance's rule (balance.PeriodVolumes over the exact
// sums, then balance.IntakeBySource): the same volumes, to the last bit,
// that the enterprise's balance shows for that month. A month's coverage is
// that of its least-covered intake point (0 for one without data), so a
// month with a silent meter is flagged incomplete, never silently counted
// as whole.
//
// A closed month is read in one stretch and kept between computations (a
// past month changes only by late readings; PastMaxAge); the current month
// is read day by day, its closed days kept, so a recomputation reads today
// only and tracks every enterprise again.
package planuse

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/waterplan"
)

// Source is the part of the store tracking reads.
type Source interface {
	Parks(ctx context.Context, f store.Filter) ([]meter.Park, error)
	Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	periodvol.Source
	WaterPlans(ctx context.Context, year int, enterprises []string) ([]waterplan.Plan, error)
	Permits(ctx context.Context, enterprises []string) ([]waterplan.Permit, error)
	ProductionRecords(ctx context.Context, f production.Filter) ([]production.Record, error)
}

// DefaultThresholds are the shares alarms are raised at: 80 % and 100 %.
var DefaultThresholds = []float64{0.8, 1.0}

// DefaultSchedule is the progressive-pricing schedule used unless another
// is named (waterplan.Schedules).
const DefaultSchedule = "national-guidance-2017"

// Options configure tracking.
type Options struct {
	Thresholds []float64      // shares in (0, 10]; default DefaultThresholds
	Schedule   string         // default DefaultSchedule
	Location   *time.Location // month boundaries; default production.Zone
	// BatchSeries bounds the series one store query reads; default 2,000.
	BatchSeries int
	// Workers run store queries in parallel; default GOMAXPROCS.
	Workers int
}

func (o Options) withDefaults() Options {
	if len(o.Thresholds) == 0 {
		o.Thresholds = DefaultThresholds
	}
	if o.Schedule == "" {
		o.Schedule = DefaultSchedule
	}
	if o.Location == nil {
		o.Location = production.Zone
	}
	if o.BatchSeries <= 0 {
		o.BatchSeries = 2000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Row is one enterprise's line of the overview.
type Row struct {
	Enterprise   string  `json:"enterprise"`
	Name         string  `json:"name"`
	Park         string  `json:"park,omitempty"`
	Region       string  `json:"region"`
	PlanAnnualM3 float64 `json:"plan_annual_m3"`
	PlanToDateM3 float64 `json:"plan_to_date_m3"`
	IntakeM3     float64 `json:"intake_to_date_m3"`
	ShareToDate  float64 `json:"share_to_date"`
	// MonthShare is the latest month's intake against its plan.
	MonthShare float64 `json:"month_share"`
	// PermitShare is the highest share of any permit.
	PermitShare float64 `json:"permit_share"`
	OverPlanM3  float64 `json:"over_plan_m3"`
	// Level is "over" (a share at or above the highest threshold), "near"
	// (at or above another) or "ok".
	Level      string `json:"level"`
	Incomplete bool   `json:"incomplete"`
}

// ProductHeadroom is the production a park's remaining allocation allows
// of one product, at the park's intake per unit of it so far this year.
type ProductHeadroom struct {
	Product       string  `json:"product"`
	Unit          string  `json:"unit"`
	OutputToDate  float64 `json:"output_to_date"`
	IntakePerUnit float64 `json:"intake_per_unit_m3"`
	Allowed       float64 `json:"allowed"`
}

// Park is a park's allocation (the sum of its enterprises' annual plans)
// against their intake so far, and what the remainder allows (以水定产).
type Park struct {
	Park         string            `json:"park"`
	Name         string            `json:"name"`
	Region       string            `json:"region"`
	Enterprises  int               `json:"enterprises"`
	AllocationM3 float64           `json:"allocation_m3"`
	PlanToDateM3 float64           `json:"plan_to_date_m3"`
	IntakeM3     float64           `json:"intake_to_date_m3"`
	RemainingM3  float64           `json:"remaining_m3"`
	Share        float64           `json:"share"`
	Over         int               `json:"enterprises_over"`
	Near         int               `json:"enterprises_near"`
	Products     []ProductHeadroom `json:"products"`
}

// Board is the tracking of every enterprise with a plan for a year.
type Board struct {
	Year       int                         `json:"year"`
	Computed   time.Time                   `json:"computed"`
	Through    time.Time                   `json:"through"` // intake read up to
	TookMS     float64                     `json:"took_ms"`
	Thresholds []float64                   `json:"thresholds"`
	Schedule   waterplan.Schedule          `json:"schedule"`
	Rows       []Row                       `json:"rows"`
	Parks      []Park                      `json:"parks"`
	Province   Park                        `json:"province"`
	Statuses   map[string]waterplan.Status `json:"-"`
	Plans      map[string]waterplan.Plan   `json:"-"`
	// Series is the number of intake series read from the store.
	Series int `json:"series"`
}

// Level classifies a status by its highest share (latest month, year to
// date, any permit) against the thresholds.
func Level(st waterplan.Status, thresholds []float64) string {
	s := maxShare(st)
	hi := slices.Max(thresholds)
	switch {
	case s >= hi:
		return "over"
	case s >= slices.Min(thresholds):
		return "near"
	}
	return "ok"
}

func maxShare(st waterplan.Status) float64 {
	s := st.ShareToDate
	if n := len(st.Months); n > 0 {
		s = math.Max(s, st.Months[n-1].Share)
	}
	for _, p := range st.Permits {
		s = math.Max(s, p.Share)
	}
	return s
}

// Compute tracks every enterprise with a plan for year, the intake read up
// to now (or the year's end).
func Compute(ctx context.Context, src Source, year int, now time.Time, opts Options) (*Board, error) {
	return compute(ctx, src, year, now, opts, nil)
}

func compute(ctx context.Context, src Source, year int, now time.Time, opts Options, memo *pastMonths) (*Board, error) {
	opts = opts.withDefaults()
	start := time.Now()
	sched, err := schedule(opts.Schedule)
	if err != nil {
		return nil, err
	}
	b := &Board{Year: year, Computed: now, Thresholds: opts.Thresholds, Schedule: sched, Rows: []Row{}, Parks: []Park{},
		Statuses: map[string]waterplan.Status{}, Plans: map[string]waterplan.Plan{}}
	plans, err := src.WaterPlans(ctx, year, nil)
	if err != nil {
		return nil, fmt.Errorf("planuse: plans: %w", err)
	}
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.Enterprise
	}
	ents, err := src.Enterprises(ctx, store.Filter{})
	if err != nil {
		return nil, fmt.Errorf("planuse: enterprises: %w", err)
	}
	parks, err := src.Parks(ctx, store.Filter{})
	if err != nil {
		return nil, fmt.Errorf("planuse: parks: %w", err)
	}
	pts, err := src.Points(ctx, store.Filter{Level: meter.Level1, Stage: meter.StageIntake})
	if err != nil {
		return nil, fmt.Errorf("planuse: points: %w", err)
	}
	permits, err := src.Permits(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("planuse: permits: %w", err)
	}
	intake := map[string][]meter.Point{}
	for _, p := range pts {
		if _, ok := balance.VolumeChannel(p); ok && balance.IsIntake(p) {
			intake[p.Enterprise] = append(intake[p.Enterprise], p)
		}
	}
	yearFrom := time.Date(year, 1, 1, 0, 0, 0, 0, opts.Location)
	through := time.Date(year+1, 1, 1, 0, 0, 0, 0, opts.Location)
	// To the minute, as the roll-up reads the current year: the current
	// hour's bucket is partial and counts what its readings span so far.
	if n := now.Truncate(time.Minute); n.Before(through) {
		through = n
	}
	b.Through = through
	months := map[string][]waterplan.Month{}
	for m := 1; m <= 12; m++ {
		from := time.Date(year, time.Month(m), 1, 0, 0, 0, 0, opts.Location)
		to := from.AddDate(0, 1, 0)
		if !from.Before(through) {
			break
		}
		closed := !to.After(through)
		if !closed {
			to = through
		}
		got, ok := memo.get(year, m, ids, now)
		switch {
		case ok && closed:
		case closed:
			// A closed month in one read: its pre-totals where current.
			sp, n, err := readSpan(ctx, src, ids, intake, from, to, true, opts)
			if err != nil {
				return nil, err
			}
			b.Series += n
			got = monthOf(m, ids, intake, []span{sp})
			memo.put(year, m, ids, got, now)
		default:
			n := 0
			got, n, err = monthByDays(ctx, src, ids, intake, from, to, opts, memo, now)
			if err != nil {
				return nil, err
			}
			b.Series += n
		}
		for _, id := range ids {
			months[id] = append(months[id], got[id])
		}
	}
	byEnt := map[string][]waterplan.Permit{}
	for _, p := range waterplan.PermitsFor(permits, year, opts.Location) {
		byEnt[p.Enterprise] = append(byEnt[p.Enterprise], p)
	}
	entByID := make(map[string]meter.Enterprise, len(ents))
	for _, e := range ents {
		entByID[e.ID] = e
	}
	for _, p := range plans {
		st, err := waterplan.Track(p, byEnt[p.Enterprise], months[p.Enterprise], opts.Thresholds, sched)
		if err != nil {
			return nil, fmt.Errorf("planuse: %w", err)
		}
		b.Statuses[p.Enterprise] = st
		b.Plans[p.Enterprise] = p
		e := entByID[p.Enterprise]
		r := Row{Enterprise: p.Enterprise, Name: e.Name, Park: e.Park, Region: e.Region, PlanAnnualM3: st.PlanAnnualM3,
			PlanToDateM3: st.PlanToDateM3, IntakeM3: st.IntakeM3, ShareToDate: st.ShareToDate, OverPlanM3: st.OverPlanM3,
			Level: Level(st, opts.Thresholds), Incomplete: len(st.IncompleteFor) > 0}
		if n := len(st.Months); n > 0 {
			r.MonthShare = st.Months[n-1].Share
		}
		for _, ps := range st.Permits {
			r.PermitShare = math.Max(r.PermitShare, ps.Share)
		}
		b.Rows = append(b.Rows, r)
	}
	recs, err := src.ProductionRecords(ctx, production.Filter{Kind: production.Output, Enterprises: ids, From: yearFrom, To: through})
	if err != nil {
		return nil, fmt.Errorf("planuse: production records: %w", err)
	}
	b.Parks, b.Province = parkViews(b.Rows, parks, recs, yearFrom, through)
	b.TookMS = float64(time.Since(start).Microseconds()) / 1000
	return b, nil
}

func schedule(name string) (waterplan.Schedule, error) {
	all, err := waterplan.Schedules()
	if err != nil {
		return waterplan.Schedule{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return waterplan.Schedule{}, fmt.Errorf("planuse: no pricing schedule %q", name)
}

// span is each intake point's consumption over a stretch of time (a
// closed month, a closed day, today so far), its intervals and their exact
// sum (balance.IntervalTotal): what the period-volume rule needs of it, so
// that stretches read separately give, put together, exactly the volumes
// of the whole period (monthOf).
type span map[string]balance.IntervalTotal

// readSpan reads the intake points' consumption over [from, to) with
// periodvol.Read — the store's day and month pre-totals where they are
// current, the rest hour by hour; only hour by hour when the stretch is not
// closed (today so far: no day's total lies inside it) — and sums each
// point's totals exactly. It returns the span and the number of
// series read.
func readSpan(ctx context.Context, src periodvol.Source, ids []string, intake map[string][]meter.Point, from, to time.Time, closed bool, opts Options) (span, int, error) {
	out := span{}
	n, err := readTotals(ctx, src, ids, intake, from, to, closed, opts, func(_ []string, res []store.SeriesTotals) {
		for _, st := range res {
			t := out[st.Series.Point]
			for _, x := range periodvol.IntervalTotals(st.Totals) {
				t.Intervals += x.Intervals
				t.Valid += x.Valid
				t.Sum.AddSum(x.Sum)
			}
			out[st.Series.Point] = t
		}
	})
	return out, n, err
}

// monthOf is the month's intake by source of each enterprise from the
// spans that make up the month: balance.PeriodVolumes over their totals
// (the balance's rule over the whole month, to the last bit), then
// balance.IntakeBySource. An enterprise without intake points gets an
// empty month of coverage 0; a month's coverage is that of its
// least-covered intake point (0 for one absent from every span).
func monthOf(month int, ids []string, intake map[string][]meter.Point, spans []span) map[string]waterplan.Month {
	var in []balance.PointBuckets
	for _, id := range ids {
		for _, p := range intake[id] {
			var ts []balance.IntervalTotal
			for _, sp := range spans {
				if t, ok := sp[p.ID]; ok {
					ts = append(ts, t)
				}
			}
			if len(ts) > 0 {
				in = append(in, balance.PointBuckets{Point: p.ID, Totals: ts})
			}
		}
	}
	vol, cov := balance.PeriodVolumes(in)
	out := make(map[string]waterplan.Month, len(ids))
	for _, id := range ids {
		bySource, _ := balance.IntakeBySource(intake[id], vol)
		c := 0.0
		if len(intake[id]) > 0 {
			c = 1
		}
		for _, p := range intake[id] {
			c = math.Min(c, cov[p.ID]) // a point absent from the answer has 0
		}
		out[id] = waterplan.Month{Month: month, BySource: bySource, Coverage: c}
	}
	return out
}

// monthByDays is the intake by source of enterprises over [from, to) (the
// current month so far), read day by day: a closed day is kept (memo) and
// read again only after PastMaxAge, today is read each time. It returns
// the month and the series read (once per day read).
func monthByDays(ctx context.Context, src periodvol.Source, ids []string, intake map[string][]meter.Point, from, to time.Time, opts Options,
	memo *pastMonths, now time.Time) (map[string]waterplan.Month, int, error) {
	opts = opts.withDefaults()
	var spans []span
	read := 0
	for d := from; d.Before(to); {
		next := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, opts.Location)
		end := next
		if to.Before(end) {
			end = to
		}
		closed := end.Equal(next)
		sp, ok := memo.getDay(d, ids, now)
		if !ok || !closed {
			var n int
			var err error
			sp, n, err = readSpan(ctx, src, ids, intake, d, end, closed, opts)
			if err != nil {
				return nil, 0, err
			}
			read += n
			if closed {
				memo.putDay(d, ids, sp, now)
			}
		}
		spans = append(spans, sp)
		d = next
	}
	return monthOf(int(from.In(opts.Location).Month()), ids, intake, spans), read, nil
}

// readTotals reads the consumption over [from, to) of the volume series of
// the given points of enterprises with periodvol.Read (pre) or hour by hour
// (periodvol.Fill alone), in batches of whole enterprises of at most
// opts.BatchSeries series, opts.Workers batches at a time. fn is called
// with each batch's enterprises and totals (one call at a time); it returns
// the number of series read.
func readTotals(ctx context.Context, src periodvol.Source, ids []string, points map[string][]meter.Point, from, to time.Time, pre bool, opts Options,
	fn func(ids []string, res []store.SeriesTotals)) (int, error) {
	opts = opts.withDefaults()
	var batches [][]string
	var cur []string
	n, total := 0, 0
	for _, id := range ids {
		k := 0
		for _, p := range points[id] {
			if _, ok := balance.VolumeChannel(p); ok {
				k++
			}
		}
		if k == 0 {
			continue
		}
		if len(cur) > 0 && n+k > opts.BatchSeries {
			batches, cur, n = append(batches, cur), nil, 0
		}
		cur, n, total = append(cur, id), n+k, total+k
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	var mu sync.Mutex
	var firstErr error
	work := make(chan []string)
	var wg sync.WaitGroup
	for range min(opts.Workers, len(batches)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bt := range work {
				res, err := readBatch(ctx, src, bt, points, from, to, pre, opts)
				mu.Lock()
				if err == nil {
					fn(bt, res)
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, bt := range batches {
		work <- bt
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return total, nil
}

func readBatch(ctx context.Context, src periodvol.Source, ids []string, points map[string][]meter.Point, from, to time.Time, pre bool, opts Options) ([]store.SeriesTotals, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var series []store.Series
	for _, id := range ids {
		for _, p := range points[id] {
			if ch, ok := balance.VolumeChannel(p); ok {
				series = append(series, store.Series{Point: p.ID, Channel: ch})
			}
		}
	}
	var res []store.SeriesTotals
	var err error
	if pre {
		res, err = periodvol.Read(ctx, src, series, from, to, periodvol.Interval, opts.Location)
	} else {
		res = make([]store.SeriesTotals, len(series))
		for i, s := range series {
			res[i].Series = s
		}
		err = periodvol.Fill(ctx, src, res, from, to, periodvol.Interval, opts.Location)
	}
	if err != nil {
		return nil, fmt.Errorf("planuse: volumes %s–%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), err)
	}
	return res, nil
}

// parkViews sums the rows by park and for the province, with the
// production the remaining allocation allows of each product made there.
func parkViews(rows []Row, parks []meter.Park, recs []production.Record, from, to time.Time) ([]Park, Park) {
	byID := map[string]*Park{}
	var order []string
	prov := &Park{Park: "", Name: "全省 / Province"}
	output := map[string]map[string]float64{} // enterprise → product → output
	units := map[string]string{}
	for _, r := range recs {
		q, share := r.Prorated(from, to)
		if share == 0 {
			continue
		}
		if output[r.Enterprise] == nil {
			output[r.Enterprise] = map[string]float64{}
		}
		output[r.Enterprise][r.Product] += q
		units[r.Product] = r.Unit
	}
	names := map[string]meter.Park{}
	for _, p := range parks {
		names[p.ID] = p
	}
	type acc struct{ intake, output float64 }
	prods := map[*Park]map[string]*acc{}
	add := func(v *Park, r Row) {
		v.Enterprises++
		v.AllocationM3 += r.PlanAnnualM3
		v.PlanToDateM3 += r.PlanToDateM3
		v.IntakeM3 += r.IntakeM3
		switch r.Level {
		case "over":
			v.Over++
		case "near":
			v.Near++
		}
		if prods[v] == nil {
			prods[v] = map[string]*acc{}
		}
		// An enterprise's intake is counted against each product it makes
		// in proportion to nothing finer than the whole: intake per unit of
		// a product is that of the enterprises making it.
		for prod, q := range output[r.Enterprise] {
			a := prods[v][prod]
			if a == nil {
				a = &acc{}
				prods[v][prod] = a
			}
			a.intake += r.IntakeM3 / float64(len(output[r.Enterprise]))
			a.output += q
		}
	}
	for _, r := range rows {
		add(prov, r)
		if r.Park == "" {
			continue
		}
		v, ok := byID[r.Park]
		if !ok {
			pk := names[r.Park]
			v = &Park{Park: r.Park, Name: pk.Name, Region: pk.Region}
			byID[r.Park] = v
			order = append(order, r.Park)
		}
		add(v, r)
	}
	finish := func(v *Park) Park {
		v.RemainingM3 = v.AllocationM3 - v.IntakeM3
		if v.AllocationM3 > 0 {
			v.Share = v.IntakeM3 / v.AllocationM3
		}
		v.Products = []ProductHeadroom{}
		for _, prod := range sortedKeys(prods[v]) {
			a := prods[v][prod]
			h := ProductHeadroom{Product: prod, Unit: units[prod], OutputToDate: a.output}
			if a.output > 0 && a.intake > 0 && v.AllocationM3 > 0 {
				h.IntakePerUnit = a.intake / a.output
				_, h.Allowed, _ = waterplan.Headroom(v.AllocationM3, v.IntakeM3, h.IntakePerUnit)
			}
			v.Products = append(v.Products, h)
		}
		return *v
	}
	sort.Strings(order)
	out := make([]Park, 0, len(order))
	for _, id := range order {
		out = append(out, finish(byID[id]))
	}
	return out, finish(prov)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PastMaxAge is how long a closed month's intake is reused.
const PastMaxAge = 24 * time.Hour

// pastMonths keeps closed months' intake between computations, for the
// enterprises they were read for; a nil *pastMonths keeps nothing.
type pastMonths struct {
	mu     sync.Mutex
	months map[int]pastMonth // year*100 + month
	days   map[int64]pastDay // the day's start, Unix seconds
}

type pastDay struct {
	ids  []string
	part span
	at   time.Time
}

func (p *pastMonths) getDay(day time.Time, ids []string, now time.Time) (span, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.days[day.Unix()]
	if !ok || now.Sub(e.at) >= PastMaxAge || !slices.Equal(e.ids, ids) {
		return nil, false
	}
	return e.part, true
}

func (p *pastMonths) putDay(day time.Time, ids []string, part span, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.days == nil {
		p.days = map[int64]pastDay{}
	}
	// Days before the last month or so are no longer asked for (their months
	// are kept whole).
	for k, d := range p.days {
		if now.Sub(time.Unix(k, 0)) > 35*24*time.Hour || now.Sub(d.at) >= PastMaxAge {
			delete(p.days, k)
		}
	}
	p.days[day.Unix()] = pastDay{ids: slices.Clone(ids), part: part, at: now}
}

type pastMonth struct {
	ids []string
	got map[string]waterplan.Month
	at  time.Time
}

func (p *pastMonths) get(year, month int, ids []string, now time.Time) (map[string]waterplan.Month, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.months[year*100+month]
	if !ok || now.Sub(e.at) >= PastMaxAge || !slices.Equal(e.ids, ids) {
		return nil, false
	}
	return e.got, true
}

func (p *pastMonths) put(year, month int, ids []string, got map[string]waterplan.Month, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.months == nil {
		p.months = map[int]pastMonth{}
	}
	p.months[year*100+month] = pastMonth{ids: slices.Clone(ids), got: got, at: now}
}

// MarshalJSON writes the shares with waterplan.JSONRatio (a use against a
// plan of nothing is +Inf).
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	return json.Marshal(struct {
		plain
		ShareToDate any `json:"share_to_date"`
		MonthShare  any `json:"month_share"`
		PermitShare any `json:"permit_share"`
	}{plain(r), waterplan.JSONRatio(r.ShareToDate), waterplan.JSONRatio(r.MonthShare), waterplan.JSONRatio(r.PermitShare)})
}
