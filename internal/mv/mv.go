// Package mv holds the server's use cases of measurement and verification
// (M&V) of water savings for contract-water-saving projects (package
// contract): creating a contract, and a reporting period's statement — the
// boundary's metered intake per model period read from the store (the
// ledger-backed readings, the hourly buckets and the gap rule of
// balance.PeriodVolumes), the drivers from the enterprise's declared
// production records and the contract's declared series, the baseline model
// and the savings with their uncertainty (contract.Evaluate, package
// savings), sealed with the ledger checkpoint it was read at and stored.
// `shuixiao verify savings` (package verify) recomputes a statement from
// the ledger alone.
package mv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// Store is what the use cases read and write.
type Store interface {
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	periodvol.Source
	ProductionRecords(ctx context.Context, f production.Filter) ([]production.Record, error)
	store.Contracts
	LedgerSize(ctx context.Context) (uint64, error)
}

// Service runs the M&V use cases.
type Service struct {
	Store Store
	// Checkpoint returns the ledger's latest signed checkpoint (size and
	// hex root); nil when the server has no ledger, and then no statement
	// can be issued.
	Checkpoint func(ctx context.Context) (contract.Checkpoint, error)
	Now        func() time.Time
}

// ErrRefused is wrapped (with store.ErrConflict) by a refusal of the data:
// too few periods, a singular design, a driver or a point's data missing in
// a period, a reporting period not over. Nothing is written then.
var ErrRefused = errors.New("M&V refused")

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %w: %s", store.ErrConflict, ErrRefused, fmt.Sprintf(format, a...))
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// CreateContract stores a new contract in state active, created by actor:
// it must validate, its enterprise exist, an option B contract's points be
// the enterprise's with a volume channel, and it must not overlap a stored
// contract (store.CheckContract).
func (s *Service) CreateContract(ctx context.Context, c contract.Contract, actor string) (contract.Contract, error) {
	if c.Status == "" {
		c.Status = contract.Active
	}
	c.CreatedBy, c.CreatedAt = actor, s.now().UTC().Truncate(time.Second)
	for i := range c.Declared {
		c.Declared[i].By, c.Declared[i].At = actor, c.CreatedAt
	}
	if err := c.Validate(); err != nil {
		return contract.Contract{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if _, err := s.Store.Enterprise(ctx, c.Enterprise); err != nil {
		return contract.Contract{}, err
	}
	if c.Option == contract.RetrofitIsolation {
		pts, err := s.Store.Points(ctx, store.Filter{Enterprise: c.Enterprise})
		if err != nil {
			return contract.Contract{}, err
		}
		if _, err := contract.Boundary(c, pts); err != nil {
			return contract.Contract{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	if err := s.Store.CreateContract(ctx, c); err != nil {
		return contract.Contract{}, err
	}
	return c, nil
}

// AddDeclared appends declared driver values (e.g. monthly cooling degree
// days) to a contract, recorded as reported by actor.
func (s *Service) AddDeclared(ctx context.Context, id string, vals []contract.DeclaredValue, actor string) (contract.Contract, error) {
	at := s.now().UTC().Truncate(time.Second)
	for i := range vals {
		vals[i].By, vals[i].At = actor, at
	}
	return s.Store.AddDeclared(ctx, id, vals)
}

// Data are a contract's model periods with their metered intake and
// drivers, as read from the store.
type Data struct {
	Boundary        []meter.Point
	Baseline        []contract.PeriodFigures
	Reporting       []contract.PeriodFigures
	LedgerSize      uint64
	LedgerSizeAfter uint64
}

// Read reads the data of one reporting period (index into c.Reporting):
// the boundary's metered intake per model period over the baseline and the
// reporting period (whole days and months from the store's pre-totals, the
// rest hour by hour: runs) split by contract.RunIntakes, and the drivers
// (contract.Figures). A boundary
// point without a valid hour in a period, or a driver whose records do not
// cover a period, is refused naming both.
func (s *Service) Read(ctx context.Context, c contract.Contract, reporting int) (Data, error) {
	if reporting < 0 || reporting >= len(c.Reporting) {
		return Data{}, fmt.Errorf("%w: contract %s has reporting periods 1 to %d", store.ErrNotFound, c.ID, len(c.Reporting))
	}
	var d Data
	var err error
	if d.LedgerSize, err = s.Store.LedgerSize(ctx); err != nil {
		return Data{}, err
	}
	pts, err := s.Store.Points(ctx, store.Filter{Enterprise: c.Enterprise})
	if err != nil {
		return Data{}, err
	}
	if d.Boundary, err = contract.Boundary(c, pts); err != nil {
		return Data{}, refuse("%v", err)
	}
	rep := c.Reporting[reporting]
	span := contract.Span{From: c.Baseline.From, To: rep.To}
	recs, err := s.Store.ProductionRecords(ctx, production.Filter{Enterprises: []string{c.Enterprise}, From: span.From, To: span.To})
	if err != nil {
		return Data{}, err
	}
	parts := []struct {
		name string
		span contract.Span
		out  *[]contract.PeriodFigures
	}{{"baseline", c.Baseline, &d.Baseline}, {fmt.Sprintf("reporting period %d", reporting+1), rep, &d.Reporting}}
	var all []contract.Span
	for _, part := range parts {
		fs, err := contract.Figures(c, part.span, recs)
		if err != nil {
			return Data{}, refuse("%s: %v", part.name, err)
		}
		for _, f := range fs {
			all = append(all, contract.Span{From: f.From, To: f.To})
		}
		*part.out = fs
	}
	runs, err := s.runs(ctx, d.Boundary, span, all)
	if err != nil {
		return Data{}, err
	}
	for _, part := range parts {
		fs := *part.out
		spans := make([]contract.Span, len(fs))
		for i, f := range fs {
			spans[i] = contract.Span{From: f.From, To: f.To}
		}
		intakes, err := contract.RunIntakes(d.Boundary, runs, spans)
		if err != nil {
			return Data{}, fmt.Errorf("mv: %s: %w", part.name, err)
		}
		for i, in := range intakes {
			if len(in.Missing) > 0 {
				return Data{}, refuse("%s period %s: no metered data at point(s) %s", part.name, fs[i].Label, strings.Join(in.Missing, ", "))
			}
			fs[i].IntakeM3, fs[i].Coverage = in.M3, in.Coverage
		}
	}
	if d.LedgerSizeAfter, err = s.Store.LedgerSize(ctx); err != nil {
		return Data{}, err
	}
	return d, nil
}

// Compute is the M&V of one reporting period without storing it: the
// record computed from Read with the checkpoint cp (zero for a preview).
func (s *Service) Compute(ctx context.Context, c contract.Contract, reporting int, adj []contract.Adjustment, cp contract.Checkpoint) (contract.Record, error) {
	if reporting < 0 || reporting >= len(c.Reporting) {
		return contract.Record{}, fmt.Errorf("%w: contract %s has reporting periods 1 to %d", store.ErrNotFound, c.ID, len(c.Reporting))
	}
	if err := contract.CheckAdjustments(c, reporting, adj); err != nil {
		return contract.Record{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	d, err := s.Read(ctx, c, reporting)
	if err != nil {
		return contract.Record{}, err
	}
	r, err := contract.Evaluate(c, reporting, d.Baseline, d.Reporting, adj, cp)
	if err != nil {
		return contract.Record{}, refuse("%v", err)
	}
	r.LedgerSize, r.LedgerSizeAfter = d.LedgerSize, d.LedgerSizeAfter
	if c.Option == contract.WholeFacility {
		r.Points = nil
		for _, p := range d.Boundary {
			r.Points = append(r.Points, p.ID)
		}
	}
	return r, nil
}

// Issue computes, seals and stores the statement of a reporting period that
// is over, with the non-routine adjustments recorded by actor. The
// checkpoint is read before the data, as the balance reads it: every entry
// it covers was in the data. A contract's period gets one statement
// (store.ErrExists otherwise).
func (s *Service) Issue(ctx context.Context, contractID string, reporting int, adj []contract.Adjustment, actor string) (contract.Record, error) {
	c, err := s.Store.Contract(ctx, contractID)
	if err != nil {
		return contract.Record{}, err
	}
	if reporting < 0 || reporting >= len(c.Reporting) {
		return contract.Record{}, fmt.Errorf("%w: contract %s has reporting periods 1 to %d", store.ErrNotFound, c.ID, len(c.Reporting))
	}
	now := s.now().UTC().Truncate(time.Second)
	if end := c.Reporting[reporting].To; end.After(now) {
		return contract.Record{}, refuse("reporting period %d ends %s: not over yet", reporting+1, end.In(production.Zone).Format(time.DateOnly))
	}
	if s.Checkpoint == nil {
		return contract.Record{}, refuse("no ledger: a statement states the ledger checkpoint its data were read at")
	}
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		return contract.Record{}, fmt.Errorf("read checkpoint: %w", err)
	}
	for i := range adj {
		adj[i].By, adj[i].At = actor, now
	}
	r, err := s.Compute(ctx, c, reporting, adj, cp)
	if err != nil {
		return contract.Record{}, err
	}
	r.CreatedBy, r.CreatedAt = actor, now
	if err := s.Store.AddStatement(ctx, r); err != nil {
		return contract.Record{}, err
	}
	return r, nil
}

// Statement returns a stored statement (store.ErrNotFound): what a
// water-rights certificate points at (internal/rights' Statements).
func (s *Service) Statement(ctx context.Context, id string) (contract.Statement, error) {
	r, err := s.Record(ctx, id)
	if err != nil {
		return contract.Statement{}, err
	}
	return r.Statement, nil
}

// Record returns a stored statement record by statement ID
// (store.ErrNotFound): the statement with the figures it was computed
// from, what `shuixiao verify savings` recomputes.
func (s *Service) Record(ctx context.Context, id string) (contract.Record, error) {
	return s.Store.StatementRecord(ctx, id)
}

// Statements lists a contract's issued statements by reporting period
// (empty, not nil, when there is none).
func (s *Service) Statements(ctx context.Context, contractID string) ([]contract.Statement, error) {
	rs, err := s.Store.StatementRecords(ctx, contractID)
	if err != nil {
		return nil, err
	}
	out := make([]contract.Statement, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Statement)
	}
	return out, nil
}

// Contract returns a stored contract (store.ErrNotFound).
func (s *Service) Contract(ctx context.Context, id string) (contract.Contract, error) {
	return s.Store.Contract(ctx, id)
}

// Contracts lists the contracts of the given enterprises (nil: every
// enterprise's), sorted by ID.
func (s *Service) Contracts(ctx context.Context, enterprises []string) ([]contract.Contract, error) {
	return s.Store.Contracts(ctx, enterprises)
}
