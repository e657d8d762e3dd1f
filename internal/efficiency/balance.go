// Package efficiency holds the server's use cases of water-efficiency
// management: an enterprise's balance over a period from the store
// (EnterpriseBalance, the one function every route, report and review uses
// for it), the quota board, and the retrofit cases opened for products over
// quota (Review, Transition). The science is package balance; the records
// are packages production and quotacase; this package reads the store and
// applies them.
package efficiency

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// MaxPeriod bounds a balance's period: a year, leap or not.
const MaxPeriod = 366 * 24 * time.Hour

// Store is what the use cases read and write.
type Store interface {
	store.Registry
	store.SeriesReader
	store.Production
	store.QuotaCases
	LedgerSize(ctx context.Context) (uint64, error)
}

// Output is a product's output over the period from the records that
// overlap it, each prorated in proportion to time (production.Record.Prorated).
type Output struct {
	Product  string  `json:"product"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	// Coverage is the fraction of the period the records cover; below 1
	// the product's intake per unit is not given (the output of the rest
	// of the period is unknown).
	Coverage float64 `json:"coverage"`
	// Prorated tells that some record reaches outside the period and was
	// counted in part.
	Prorated bool    `json:"prorated"`
	Records  []int64 `json:"records"`
	Basis    string  `json:"basis"`
}

// Declared is a declared figure (value added or a water statistic) over the
// period, prorated from the records that overlap it.
type Declared struct {
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Coverage float64 `json:"coverage"`
	Prorated bool    `json:"prorated"`
	Records  []int64 `json:"records"`
	Basis    string  `json:"basis"`
}

// Checkpoint is the signed ledger checkpoint the caller read before the
// balance (the latest published one): its tree size and root hash.
type Checkpoint struct {
	Size     uint64 `json:"size"`
	RootHash string `json:"root_hash"` // base64, as in the checkpoint note
	Text     string `json:"text"`
}

// Result is an enterprise's balance over [From, To).
type Result struct {
	Enterprise meter.Enterprise
	From, To   time.Time
	Points     []meter.Point
	Volumes    balance.Volumes
	// PointCoverage is each water point's fraction of valid hours
	// (balance.PeriodVolumes).
	PointCoverage map[string]float64
	Report        balance.Report
	Sankey        balance.Sankey
	Outputs       map[string]Output
	ValueAdded    *Declared
	// Statistics are the declared water statistics (kind intake, reuse,
	// non_conventional) overlapping the period, by kind.
	Statistics map[production.Kind]Declared
	// LedgerSize is the store's ledger size before the balance was read:
	// every ledger entry below it was in the data read. LedgerSizeAfter is
	// the size after: entries from LedgerSize to LedgerSizeAfter were
	// committed during the read and may or may not be in it, so when the
	// two are equal the data are exactly the entries below LedgerSize.
	LedgerSize, LedgerSizeAfter uint64
	// Checkpoint is set by a caller that has the ledger (the API).
	Checkpoint *Checkpoint
}

// ProductGrade is a product's intake per unit against its quota, from a
// Result: what the quota board and the case review judge by.
type ProductGrade struct {
	Product string
	Unit    string // m3/<unit of output>
	Value   float64
	OK      bool // a value is given
	// LowerBound: some intake point lacks data for part of the period, so
	// Value is a lower bound; only "over" is conclusive then.
	LowerBound bool
	Grade      string // "1", "2", "3", "over", or "" when not judged
	Limit      float64
	Quota      []balance.Quota
	Note       string
}

// EnterpriseBalance computes an enterprise's balance over [from, to) from
// the store: its registered points, the period's volume per point
// (periodvol, gap rule balance.PeriodVolumes), the output, value added and
// declared statistics overlapping the period (prorated in proportion to
// time), and the built-in quotas, evaluated by balance.Evaluate.
//
// A product's intake per unit is given only when its output records cover
// the whole period; when some intake point lacks data for part of the
// period the value is a lower bound and the grade is given only if it is
// already over quota. Value added counts only when its records cover the
// whole period.
func EnterpriseBalance(ctx context.Context, st Store, enterprise string, from, to time.Time) (Result, error) {
	if !to.After(from) {
		return Result{}, fmt.Errorf("%w: the period ends before it starts", store.ErrInvalid)
	}
	if to.Sub(from) > MaxPeriod {
		return Result{}, fmt.Errorf("%w: the period is longer than 366 days", store.ErrInvalid)
	}
	size, err := st.LedgerSize(ctx)
	if err != nil {
		return Result{}, err
	}
	e, err := st.Enterprise(ctx, enterprise)
	if err != nil {
		return Result{}, err
	}
	pts, err := st.Points(ctx, store.Filter{Enterprise: enterprise})
	if err != nil {
		return Result{}, err
	}
	vol, cov, err := periodvol.Volumes(ctx, st, pts, from, to, production.Zone)
	if err != nil {
		return Result{}, err
	}
	recs, err := st.ProductionRecords(ctx, production.Filter{Enterprises: []string{enterprise}, From: from, To: to})
	if err != nil {
		return Result{}, err
	}
	res := Result{Enterprise: e, From: from, To: to, Points: pts, Volumes: vol, PointCoverage: cov, LedgerSize: size,
		Outputs: map[string]Output{}, Statistics: map[production.Kind]Declared{}}
	byKind := map[production.Kind][]production.Record{}
	byProduct := map[string][]production.Record{}
	for _, r := range recs {
		if r.Kind == production.Output {
			byProduct[r.Product] = append(byProduct[r.Product], r)
		} else {
			byKind[r.Kind] = append(byKind[r.Kind], r)
		}
	}
	opts := balance.Options{Settings: balance.DefaultSettings()}
	for _, name := range sortedKeys(byProduct) {
		d := declared(byProduct[name], from, to)
		res.Outputs[name] = Output{Product: name, Quantity: d.Value, Unit: byProduct[name][0].Unit, Coverage: d.Coverage,
			Prorated: d.Prorated, Records: d.Records, Basis: string(production.Declared)}
		opts.Production = append(opts.Production, balance.Production{Product: name, Quantity: d.Value, Unit: byProduct[name][0].Unit})
	}
	if rs := byKind[production.ValueAdded]; len(rs) > 0 {
		d := declared(rs, from, to)
		res.ValueAdded = &d
		if d.Coverage >= 1 {
			opts.ValueAdded = d.Value
		}
	}
	for _, k := range []production.Kind{production.Intake, production.Reuse, production.NonConventional} {
		if rs := byKind[k]; len(rs) > 0 {
			res.Statistics[k] = declared(rs, from, to)
		}
	}
	res.Report = balance.Evaluate(pts, vol, opts)
	if res.ValueAdded != nil && res.ValueAdded.Coverage < 1 {
		res.Report.IntakePer10kCNY.Note = fmt.Sprintf("intake per 10⁴ CNY: value added is reported for %.0f %% of the period only", 100*res.ValueAdded.Coverage)
	}
	for name, p := range res.Report.Products {
		res.Report.Products[name] = judgeProduct(p, res.Outputs[name], res.Report.Intake, cov)
	}
	if res.LedgerSizeAfter, err = st.LedgerSize(ctx); err != nil {
		return Result{}, err
	}
	res.Sankey = balance.Diagram(pts, vol)
	if err := res.Sankey.Acyclic(); err != nil {
		return Result{}, err
	}
	return res, nil
}

// declared sums records prorated over [from, to).
func declared(recs []production.Record, from, to time.Time) Declared {
	d := Declared{Unit: recs[0].Unit, Basis: string(production.Declared), Records: []int64{}}
	for _, r := range recs {
		q, share := r.Prorated(from, to)
		d.Value += q
		d.Prorated = d.Prorated || share < 1
		d.Records = append(d.Records, r.ID)
	}
	d.Coverage = production.Covered(recs, from, to)
	return d
}

// judgeProduct applies the coverage rules to a product's figure: no figure
// without output for the whole period; a lower bound, graded only when
// over quota, when an intake point lacks data for part of it.
func judgeProduct(p balance.ProductResult, out Output, intake balance.Figure, cov map[string]float64) balance.ProductResult {
	if out.Coverage < 1 {
		p.IntakePerUnit = balance.Figure{Points: p.IntakePerUnit.Points, Missing: p.IntakePerUnit.Missing,
			Note: fmt.Sprintf("intake per unit of %s: output is reported for %.1f %% of the period only", p.Plan.Name, 100*out.Coverage)}
		p.Grade = ""
		return p
	}
	if !p.IntakePerUnit.OK {
		return p
	}
	if partial := partialPoints(intake.Points, cov); len(partial) > 0 {
		p.IntakePerUnit.Note = fmt.Sprintf("lower bound: intake points %s lack data for part of the period", strings.Join(partial, ", "))
		if p.Grade != "over" {
			p.Grade = ""
		}
	}
	return p
}

// partialPoints lists the points whose coverage is below 1.
func partialPoints(points []string, cov map[string]float64) []string {
	var out []string
	for _, id := range points {
		if c, ok := cov[id]; ok && c < 1 {
			out = append(out, id)
		}
	}
	return out
}

// Grades returns each product's grade from the result, sorted by product.
func (r Result) Grades() []ProductGrade {
	var out []ProductGrade
	for _, name := range sortedKeys(r.Report.Products) {
		p := r.Report.Products[name]
		g := ProductGrade{Product: name, Unit: "m3/" + p.OutputUnit, Value: p.IntakePerUnit.Value, OK: p.IntakePerUnit.OK,
			Grade: p.Grade, Quota: p.Quotas, Note: p.IntakePerUnit.Note}
		g.LowerBound = g.OK && len(partialPoints(r.Report.Intake.Points, r.PointCoverage)) > 0
		if len(p.Quotas) > 0 {
			g.Limit = p.Quotas[len(p.Quotas)-1].Limit
		}
		if !g.OK {
			g.Value = 0
		}
		out = append(out, g)
	}
	return out
}

// MarshalJSON writes the result as RESULT.json of `shuixiao balance`
// (balance.Report) with the period, the enterprise, each water point's
// coverage, the basis of the figures, the output and declared records used,
// the Sankey diagram, the volumes and the ledger state read at.
func (r Result) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(r.Report)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	products, _ := m["products"].(map[string]any)
	for name, v := range products {
		p, _ := v.(map[string]any)
		if p == nil {
			continue
		}
		out := r.Outputs[name]
		p["output"] = out
		p["basis"] = "metered/declared" // metered intake over declared output
		p["intake_lower_bound"] = p["intake_per_unit"] != nil && len(partialPoints(r.Report.Intake.Points, r.PointCoverage)) > 0
	}
	basis := map[string]string{}
	if cov, ok := m["coverage"].(map[string]any); ok {
		for k := range cov {
			basis[k] = string(production.Metered)
		}
	}
	basis["intake_per_10k_cny"] = "metered/declared"
	basis["products"] = "metered/declared"
	basis["value_added"] = string(production.Declared)
	basis["declared"] = string(production.Declared)
	m["basis"] = basis
	m["enterprise"] = r.Enterprise.ID
	m["enterprise_name"] = r.Enterprise.Name
	m["enterprise_name_en"] = r.Enterprise.NameEN
	m["industry"] = r.Enterprise.Industry
	m["from"] = r.From.In(production.Zone).Format(time.DateOnly)
	m["to"] = r.To.Add(-time.Nanosecond).In(production.Zone).Format(time.DateOnly)
	m["period"] = map[string]any{"from": r.From.In(production.Zone), "to": r.To.In(production.Zone), "to_exclusive": true}
	m["point_coverage"] = r.PointCoverage
	m["volumes"] = r.Volumes
	m["sankey"] = r.Sankey
	m["value_added"] = r.ValueAdded
	stats := map[string]Declared{}
	for k, d := range r.Statistics {
		stats[string(k)+"_m3"] = d
	}
	m["declared"] = stats
	ledger := map[string]any{"size": r.LedgerSize, "size_after": r.LedgerSizeAfter}
	if r.Checkpoint != nil {
		ledger["checkpoint"] = r.Checkpoint
	}
	m["ledger"] = ledger
	return json.Marshal(m)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
