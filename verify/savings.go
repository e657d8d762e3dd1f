package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/consumption"
	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// MaxServedStatementSize bounds a served statement record.
const MaxServedStatementSize = 32 << 20

// SavingsOptions configure Savings.
type SavingsOptions struct {
	Audit AuditOptions // the log check; LogKey is required
	// Served is the served statement record (GET /api/v1/mv/statements/{id}):
	// the statement, its boundary, model periods, declared drivers and
	// non-routine adjustments.
	Served contract.Record
}

// SavingsResult is a statement recomputed from a ledger beside the served one.
type SavingsResult struct {
	Audit      *AuditReport
	Recomputed contract.Record
	Rows       []FigureRow
	// RootAtCheckpoint is the root hash (hex) of the ledger's first
	// CheckpointSize entries as read; empty when the log is shorter.
	RootAtCheckpoint string
	// Problems are the disagreements that are not figures: a broken seal,
	// a root other than the statement's, a boundary unlike the served one.
	Problems []string
}

// Differ lists what disagrees: the figures that differ and the problems.
func (r *SavingsResult) Differ() []string {
	var out []string
	for _, row := range r.Rows {
		if !row.Agree {
			out = append(out, row.Figure)
		}
	}
	return append(out, r.Problems...)
}

// ParseServedStatement reads a served statement record.
func ParseServedStatement(b []byte) (contract.Record, error) {
	if len(b) > MaxServedStatementSize {
		return contract.Record{}, fmt.Errorf("served statement larger than %d bytes", MaxServedStatementSize)
	}
	var r contract.Record
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return contract.Record{}, fmt.Errorf("served statement: %w", err)
	}
	if r.Statement.ID == "" || len(r.Baseline) == 0 || len(r.Reporting) == 0 || len(r.Drivers) == 0 {
		return contract.Record{}, errors.New("served statement: no statement, model periods or drivers: not an M&V statement record")
	}
	return r, nil
}

// Savings recomputes an M&V statement from the ledger alone, with public
// keys only: it audits the whole log (Audit), keeps the enterprise's
// registered points, meters and readings among the first CheckpointSize
// entries (the checkpoint the statement names, whose root it compares),
// derives the boundary (contract.Boundary), its hourly consumption over the
// baseline and the reporting period (package consumption, as Balance does)
// and each model period's intake (contract.PeriodIntakes), then refits the
// model with the served drivers and adjustments — declared data, not on the
// ledger — and evaluates the statement (contract.Evaluate), the function
// the platform uses. Every figure is set beside the served one.
func Savings(ctx context.Context, f Fetcher, opts SavingsOptions, tol float64) (*SavingsResult, error) {
	srv := opts.Served
	st := srv.Statement
	if st.Enterprise == "" || len(srv.Baseline) == 0 || len(srv.Reporting) == 0 {
		return nil, errors.New("savings: the served statement has no enterprise or model periods")
	}
	c := contract.Contract{ID: st.Contract, Enterprise: st.Enterprise, Option: srv.Option, Points: nil,
		Granularity: srv.Granularity, Drivers: srv.Drivers,
		Baseline:  contract.Span{From: srv.Baseline[0].From, To: srv.Baseline[len(srv.Baseline)-1].To},
		Reporting: []contract.Span{{From: st.From, To: st.To}}}
	if c.Option == contract.RetrofitIsolation {
		c.Points = srv.Points
	}
	span := contract.Span{From: c.Baseline.From, To: st.To}
	g, err := consumption.NewGrid(span.From, span.To, consumption.Interval(balance.PeriodBucket), production.Zone)
	if err != nil {
		return nil, fmt.Errorf("savings: %w", err)
	}
	col := newCollector(st.Enterprise, g, st.CheckpointSize)
	ao := opts.Audit
	ao.observer, ao.rootAt = col, st.CheckpointSize
	a, err := audit(ctx, f, ao)
	if err != nil {
		return nil, err
	}
	res := &SavingsResult{Audit: a.report}
	if a.rootAtHash != nil {
		res.RootAtCheckpoint = hex.EncodeToString(a.rootAtHash)
	}
	if st.CheckpointSize == 0 {
		res.RootAtCheckpoint = hex.EncodeToString(rfc6962.DefaultHasher.EmptyRoot())
	}
	switch {
	case res.RootAtCheckpoint == st.CheckpointRoot:
	case res.RootAtCheckpoint == "":
		res.Problems = append(res.Problems, fmt.Sprintf("checkpoint: the statement was read at %d entries, the log's checkpoint has %d", st.CheckpointSize, a.cp.Size))
	default:
		res.Problems = append(res.Problems, fmt.Sprintf("checkpoint: the first %d entries hash to root %s, the statement names %s", st.CheckpointSize, res.RootAtCheckpoint, st.CheckpointRoot))
	}
	if err := st.CheckSeal(); err != nil {
		res.Problems = append(res.Problems, "seal: "+err.Error())
	}

	var points []meter.Point
	for _, p := range col.points {
		points = append(points, p)
	}
	boundary, err := contract.Boundary(c, points)
	if err != nil {
		res.Problems = append(res.Problems, "boundary: "+err.Error())
		return res, nil
	}
	ids := make([]string, len(boundary))
	for i, p := range boundary {
		ids[i] = p.ID
	}
	want := append([]string(nil), srv.Points...)
	sort.Strings(want)
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		res.Problems = append(res.Problems, fmt.Sprintf("boundary: the ledger's points are %v, the statement's %v", ids, srv.Points))
	}
	meters := map[string]string{}
	for m, p := range col.meterPoint {
		if col.meterEnterprise[m] == st.Enterprise {
			meters[m] = p
		}
	}
	buckets := map[string][]balance.BucketVolume{}
	for _, p := range boundary {
		name, _ := balance.VolumeChannel(p)
		ch, _ := p.Channel(name)
		accs := make([]consumption.Acc, g.Len())
		for m, pid := range meters {
			if pid == p.ID {
				items, _ := col.series(m, name, ch.Kind, a.badIndex)
				consumption.Accumulate(accs, g, items, ch.Kind, consumption.CounterFor(ch))
			}
		}
		bs := make([]balance.BucketVolume, len(accs))
		for k := range accs {
			v, ok := accs[k].Consumption(ch.Kind)
			bs[k] = balance.BucketVolume{Value: v, Valid: ok}
		}
		buckets[p.ID] = bs
	}
	figures := func(served []contract.PeriodFigures) []contract.PeriodFigures {
		out := make([]contract.PeriodFigures, len(served))
		spans := make([]contract.Span, len(served))
		for i, f := range served {
			out[i] = contract.PeriodFigures{Label: f.Label, From: f.From, To: f.To, Drivers: f.Drivers}
			spans[i] = contract.Span{From: f.From, To: f.To}
		}
		for i, in := range contract.PeriodIntakes(boundary, span.From, buckets, spans) {
			out[i].IntakeM3, out[i].Coverage = in.M3, in.Coverage
		}
		return out
	}
	base, rep := figures(srv.Baseline), figures(srv.Reporting)
	r, err := contract.Evaluate(c, 0, base, rep, srv.Adjustments, contract.Checkpoint{Size: st.CheckpointSize, Root: st.CheckpointRoot})
	if err != nil {
		res.Problems = append(res.Problems, "recomputation refused: "+err.Error())
		return res, nil
	}
	res.Recomputed = r
	res.Rows = CompareStatement(r, srv, tol)
	return res, nil
}

// CompareStatement sets the figures of a recomputed statement record beside
// the served one: the statement's figures, the fit, the model's
// coefficients and each model period's metered intake, coverage and model
// value.
func CompareStatement(mine, served contract.Record, tol float64) []FigureRow {
	var rows []FigureRow
	add := func(name string, a, b any) {
		rows = append(rows, FigureRow{Figure: name, Ledger: a, Served: b, Agree: agree(a, b, tol)})
	}
	m, s := mine.Statement, served.Statement
	add("adjusted_baseline_m3", m.AdjustedBaselineM3, s.AdjustedBaselineM3)
	add("reporting_m3", m.ReportingM3, s.ReportingM3)
	add("savings_m3", m.SavingsM3, s.SavingsM3)
	add("uncertainty_m3", m.UncertaintyM3, s.UncertaintyM3)
	add("meets_guideline14", m.MeetsGuideline14, s.MeetsGuideline14)
	add("cv_rmse", mine.CVRMSE, served.CVRMSE)
	add("nmbe", mine.NMBE, served.NMBE)
	add("r2", mine.R2, served.R2)
	add("routine_baseline_m3", mine.RoutineM3, served.RoutineM3)
	add("non_routine_m3", mine.NonRoutineM3, served.NonRoutineM3)
	names := map[string]bool{}
	for k := range mine.Model {
		names[k] = true
	}
	for k := range served.Model {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, okA := mine.Model[k]
		b, okB := served.Model[k]
		row := FigureRow{Figure: "model." + k, Ledger: nullable(a, okA), Served: nullable(b, okB)}
		row.Agree = okA && okB && agree(a, b, tol)
		rows = append(rows, row)
	}
	periods := func(part string, mp, sp []contract.PeriodFigures) {
		for i := range max(len(mp), len(sp)) {
			if i >= len(mp) || i >= len(sp) {
				rows = append(rows, FigureRow{Figure: fmt.Sprintf("%s[%d]", part, i), Agree: false})
				continue
			}
			l := sp[i].Label
			add(fmt.Sprintf("%s[%s].intake_m3", part, l), mp[i].IntakeM3, sp[i].IntakeM3)
			add(fmt.Sprintf("%s[%s].coverage", part, l), mp[i].Coverage, sp[i].Coverage)
			add(fmt.Sprintf("%s[%s].model_m3", part, l), mp[i].ModelM3, sp[i].ModelM3)
		}
	}
	periods("baseline", mine.Baseline, served.Baseline)
	periods("reporting", mine.Reporting, served.Reporting)
	return rows
}

func nullable(v float64, ok bool) any {
	if !ok || math.IsNaN(v) {
		return nil
	}
	return v
}
