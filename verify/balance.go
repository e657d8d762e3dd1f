package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// BalanceOptions configure Balance.
type BalanceOptions struct {
	Audit      AuditOptions // the log check; LogKey is required
	Enterprise string
	From, To   time.Time // the period [From, To)
	// Declared figures, not on the ledger: the period's industrial value
	// added (10⁴ CNY, 0 for none) and output per product.
	ValueAdded float64
	Production []balance.Production
	// Below, if not zero, limits the recomputation to the ledger's first
	// entries, those below this index — the ledger size the served balance
	// was read at — while the audit still covers the whole log.
	Below uint64
	// OutputCoverage is the share of the period each product's output
	// records cover (nil or absent: all of it); see balance.JudgeProduct.
	OutputCoverage map[string]float64
}

// BalanceResult is an enterprise's period balance recomputed from a ledger.
type BalanceResult struct {
	Audit    *AuditReport
	Points   []meter.Point      // the enterprise's points, latest version in log order, by ID
	Meters   map[string]string  // the enterprise's meters → their points
	Volumes  balance.Volumes    // period volume per point (balance.PeriodVolumes)
	Coverage map[string]float64 // fraction of the period's hours each point had data for
	Readings int                // readings of the enterprise's meters the volumes were computed from
	Report   balance.Report
}

// Balance recomputes an enterprise's balance over a period from the ledger
// alone, with public keys only. It audits the whole log to its checkpoint
// (Audit: root, tiles, every signature), and in the same pass keeps the
// enterprise's registered points (point entries, the latest version of
// each), its meters (key entries) and their readings; it turns the
// readings into period volumes with the platform's own rules (package
// consumption on hourly buckets, balance.PeriodBucket; the gap rule
// balance.PeriodVolumes) and evaluates the balance (balance.Evaluate, then
// balance.JudgeProduct on each product, as the platform does).
// Readings whose signature fails count for nothing (and fail the audit).
// It returns an error only when the ledger cannot be read or the request is
// malformed; a log that fails its audit is in the result's Audit.
func Balance(ctx context.Context, f Fetcher, opts BalanceOptions) (*BalanceResult, error) {
	if opts.Enterprise == "" {
		return nil, errors.New("balance: no enterprise")
	}
	if !opts.To.After(opts.From) {
		return nil, fmt.Errorf("balance: empty period %s … %s", opts.From, opts.To)
	}
	g, err := consumption.NewGrid(opts.From, opts.To, consumption.Interval(balance.PeriodBucket), opts.From.Location())
	if err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	c := newCollector(opts.Enterprise, g, opts.Below)
	ao := opts.Audit
	ao.observer = c
	a, err := audit(ctx, f, ao)
	if err != nil {
		return nil, err
	}
	res := &BalanceResult{Audit: a.report, Meters: map[string]string{}}
	for _, p := range c.points {
		res.Points = append(res.Points, p)
	}
	slices.SortFunc(res.Points, func(x, y meter.Point) int { return cmp.Compare(x.ID, y.ID) })
	for m, p := range c.meterPoint {
		if _, ok := c.points[p]; ok && c.meterEnterprise[m] == opts.Enterprise {
			res.Meters[m] = p
		}
	}
	var in []balance.PointBuckets
	for _, p := range res.Points {
		name, ok := balance.VolumeChannel(p)
		if !ok {
			continue
		}
		ch, _ := p.Channel(name)
		accs := make([]consumption.Acc, g.Len())
		for m, pid := range res.Meters {
			if pid != p.ID {
				continue
			}
			items, n := c.series(m, name, ch.Kind, a.badIndex)
			res.Readings += n
			consumption.Accumulate(accs, g, items, ch.Kind, consumption.CounterFor(ch))
		}
		pb := balance.PointBuckets{Point: p.ID, Buckets: make([]balance.BucketVolume, len(accs))}
		for k := range accs {
			v, ok := accs[k].Consumption(ch.Kind)
			pb.Buckets[k] = balance.BucketVolume{Value: v, Valid: ok}
		}
		in = append(in, pb)
	}
	res.Volumes, res.Coverage = balance.PeriodVolumes(in)
	res.Report = balance.Evaluate(res.Points, res.Volumes, balance.Options{Settings: balance.DefaultSettings(),
		ValueAdded: opts.ValueAdded, Production: opts.Production})
	for name, p := range res.Report.Products {
		oc, ok := opts.OutputCoverage[name]
		if !ok {
			oc = 1
		}
		res.Report.Products[name] = balance.JudgeProduct(p, oc, res.Report.Intake, res.Coverage)
	}
	return res, nil
}

// sample is one channel value of one reading, at its device time.
type sample struct {
	t     int64 // Unix ms, device time
	v     float64
	seq   uint64
	index uint64 // ledger index, to drop readings whose signature failed
}

// channelSamples is what the period needs of one channel of one meter: the
// readings in [lo, hi] and the nearest ones before lo and after hi (a
// running total is differenced against them across the period's edges).
type channelSamples struct {
	window        []sample
	before, after sample
	hasB, hasA    bool
}

// collector keeps, as the audit reads the log, what Balance needs of one
// enterprise.
type collector struct {
	enterprise      string
	below           uint64 // entries from this index on are not counted (0: none left out)
	lo, hi          int64  // the period's hours, as the store reads them
	points          map[string]meter.Point
	meterEnterprise map[string]string
	meterPoint      map[string]string
	samples         map[string]map[string]*channelSamples // meter → channel
}

const hourMs = int64(time.Hour / time.Millisecond)

func newCollector(enterprise string, g consumption.Grid, below uint64) *collector {
	return &collector{enterprise: enterprise, below: below,
		lo: floorDiv(g.Start(), hourMs) * hourMs, hi: -floorDiv(-g.End(), hourMs) * hourMs,
		points: map[string]meter.Point{}, meterEnterprise: map[string]string{}, meterPoint: map[string]string{},
		samples: map[string]map[string]*channelSamples{}}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// counts reports whether the entry at index is counted (Below).
func (c *collector) counts(index uint64) bool { return c.below == 0 || index < c.below }

func (c *collector) keyEntry(index uint64, k *reading.KeyEntry) {
	if k.Action != reading.ActionRegister || !c.counts(index) {
		return // a revoked meter's readings stay with its point
	}
	c.meterEnterprise[k.Meter], c.meterPoint[k.Meter] = k.Enterprise, k.Point
}

func (c *collector) pointEntry(index uint64, p meter.Point) {
	if !c.counts(index) {
		return
	}
	if p.Enterprise == c.enterprise {
		c.points[p.ID] = p
	} else {
		delete(c.points, p.ID)
	}
}

func (c *collector) reading(index uint64, r *reading.Reading) {
	if c.meterEnterprise[r.Meter] != c.enterprise || !c.counts(index) {
		return
	}
	chans := c.samples[r.Meter]
	if chans == nil {
		chans = map[string]*channelSamples{}
		c.samples[r.Meter] = chans
	}
	t := r.Time.UnixMilli()
	for _, v := range r.Values {
		cs := chans[v.Channel]
		if cs == nil {
			cs = &channelSamples{}
			chans[v.Channel] = cs
		}
		s := sample{t: t, v: v.Value, seq: r.Seq, index: index}
		switch {
		case t < c.lo:
			if !cs.hasB || nearer(s, cs.before, true) {
				cs.before, cs.hasB = s, true
			}
		case t > c.hi:
			if !cs.hasA || nearer(s, cs.after, false) {
				cs.after, cs.hasA = s, true
			}
		default:
			cs.window = append(cs.window, s)
		}
	}
}

// nearer reports whether s is nearer the period than best: later before
// it, earlier after it; of equal times the lower seq.
func nearer(s, best sample, before bool) bool {
	switch {
	case s.t == best.t:
		return s.seq < best.seq
	case before:
		return s.t > best.t
	}
	return s.t < best.t
}

// series returns one meter's channel over the period as the store hands it
// to the engine (store/sqlite readTx.items): the points whose effective
// time lies in [lo, hi), deduplicated, and for a running total the nearest
// point before lo and at or after hi. It returns the number of readings
// inside the period too.
func (c *collector) series(meterID, channel string, kind meter.Kind, bad map[uint64]bool) ([]consumption.Summary, int) {
	cs := c.samples[meterID][channel]
	if cs == nil {
		return nil, 0
	}
	var pts []consumption.Point
	before, after := cs.before, cs.after
	hasB, hasA := cs.hasB && !bad[before.index], cs.hasA && !bad[after.index]
	for _, s := range cs.window {
		if bad[s.index] {
			continue
		}
		if te := consumption.EffectiveTime(kind, s.t); te >= c.lo && te < c.hi {
			pts = append(pts, consumption.Point{T: te, V: s.v, Seq: s.seq})
		} else if te >= c.hi && (!hasA || nearer(s, after, false)) {
			after, hasA = s, true
		} else if te < c.lo && (!hasB || nearer(s, before, true)) {
			before, hasB = s, true
		}
	}
	pts = consumption.SortDedup(pts)
	items := make([]consumption.Summary, 0, len(pts)+2)
	if kind == meter.Total && hasB {
		items = append(items, consumption.Single(consumption.Point{T: before.t, V: before.v, Seq: before.seq}))
	}
	for _, p := range pts {
		items = append(items, consumption.Single(p))
	}
	if kind == meter.Total && hasA {
		items = append(items, consumption.Single(consumption.Point{T: after.t, V: after.v, Seq: after.seq}))
	}
	return items, len(pts)
}
