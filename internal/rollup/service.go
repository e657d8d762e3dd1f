package rollup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/target"
)

// DefaultMaxAge is how long a snapshot is answered as fresh.
const DefaultMaxAge = 10 * time.Minute

// computeTimeout bounds one snapshot's computation.
const computeTimeout = 10 * time.Minute

// Service answers the targets, evaluation and benchmark questions from
// cached snapshots. A snapshot younger than MaxAge is answered as it is;
// an older one is answered too while a new one is computed in the
// background, so a request waits for a computation only when its year has
// none yet (or Refresh asks for one). The metered figures of past years are
// kept for a day (PastMaxAge) and reused by the next snapshots.
type Service struct {
	Src    Source
	Opts   Options
	MaxAge time.Duration // default DefaultMaxAge
	Now    func() time.Time

	mu    sync.Mutex
	years map[int]*slot
	bg    sync.WaitGroup
	// past keeps the metered figures of past years between snapshots
	// (PastMaxAge), so that refreshing this year does not read last year's
	// meters again.
	past pastYears
}

type slot struct {
	snap  *Snapshot
	stale bool          // Invalidate was called since snap was computed
	busy  chan struct{} // closed when the running computation ends; nil when none runs
	err   error         // of the last computation
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) maxAge() time.Duration {
	if s.MaxAge > 0 {
		return s.MaxAge
	}
	return DefaultMaxAge
}

// Snapshot returns year's snapshot: the cached one, or a new one when there
// is none.
func (s *Service) Snapshot(ctx context.Context, year int) (*Snapshot, error) {
	return s.get(ctx, year, false)
}

// Refresh computes year's snapshot now, past years' metered figures
// included, and waits for it.
func (s *Service) Refresh(ctx context.Context, year int) (*Snapshot, error) {
	s.past.clear()
	return s.get(ctx, year, true)
}

// Invalidate marks every snapshot stale: the next question about a year is
// answered from its snapshot while a new one is computed (new production
// records, for instance, change the figures).
func (s *Service) Invalidate() {
	s.past.clear()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.years {
		sl.stale = true
	}
}

// Wait waits for background computations to end (tests, shutdown).
func (s *Service) Wait() { s.bg.Wait() }

func (s *Service) get(ctx context.Context, year int, force bool) (*Snapshot, error) {
	for {
		s.mu.Lock()
		if s.years == nil {
			s.years = map[int]*slot{}
		}
		sl := s.years[year]
		if sl == nil {
			sl = &slot{}
			s.years[year] = sl
		}
		if sl.snap != nil && !force {
			if (sl.stale || s.now().Sub(sl.snap.Computed) >= s.maxAge()) && sl.busy == nil {
				s.start(sl, year)
			}
			snap := sl.snap
			s.mu.Unlock()
			return snap, nil
		}
		if sl.busy == nil {
			s.start(sl, year)
		}
		busy := sl.busy
		s.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.mu.Lock()
		snap, err := sl.snap, sl.err
		s.mu.Unlock()
		switch {
		case err != nil:
			return nil, err
		case snap != nil:
			return snap, nil
		}
		force = false // the computation this request started has ended
	}
}

// start runs a computation of year in the background; s.mu is held.
func (s *Service) start(sl *slot, year int) {
	done := make(chan struct{})
	sl.busy, sl.stale = done, false
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), computeTimeout)
		defer cancel()
		snap, err := compute(ctx, s.Src, year, s.now(), s.Opts, &s.past)
		s.mu.Lock()
		if err == nil {
			sl.snap = snap
		}
		sl.err, sl.busy = err, nil
		s.mu.Unlock()
		close(done)
	}()
}

// ErrNotFound: no such unit, enterprise or year.
var ErrNotFound = store.ErrNotFound

// ErrInvalid: a malformed question.
var ErrInvalid = store.ErrInvalid

// Targets is a unit's progress for a year, answered from the year's snapshot.
type Targets struct {
	target.Report
	ComputedAt time.Time `json:"computed_at"`
	TookMs     int64     `json:"took_ms"` // the snapshot's computation
}

// Targets reports the unit of level and code for year.
func (s *Service) Targets(ctx context.Context, level target.Level, code string, year int) (Targets, error) {
	snap, err := s.Snapshot(ctx, year)
	if err != nil {
		return Targets{}, err
	}
	u, ok := snap.Tree.Unit(level, code)
	if !ok {
		return Targets{}, refusal.New(ErrNotFound, "no %s %q in the roll-up (无此单位)", level, code)
	}
	return Targets{Report: target.Progress(u, year), ComputedAt: snap.Computed, TookMs: snap.Took.Milliseconds()}, nil
}

// Evaluation is an enterprise's water-saving enterprise evaluation for a
// year, made from its metered balance over the year's metered window.
type Evaluation struct {
	Enterprise string          `json:"enterprise"`
	Name       string          `json:"name"`
	Industry   string          `json:"industry"`
	Year       int             `json:"year"`
	Metered    bool            `json:"metered"`
	From       *time.Time      `json:"from,omitempty"` // the metered window
	To         *time.Time      `json:"to,omitempty"`
	Note       string          `json:"note,omitempty"`
	Result     evaluate.Result `json:"evaluation"`
}

// Evaluate evaluates one enterprise for year. Without metered data in the
// year the result is incomplete, and Note says why.
func (s *Service) Evaluate(ctx context.Context, enterprise string, year int) (Evaluation, error) {
	e, err := s.Src.Enterprise(ctx, enterprise)
	if err != nil {
		return Evaluation{}, err
	}
	out := Evaluation{Enterprise: e.ID, Name: e.Name, Industry: e.Industry, Year: year}
	// The declared requirements are decided by the enterprise's stored
	// answers, where the store keeps them.
	var answers []evaluate.Answer
	if as, ok := s.Src.(answerSource); ok {
		if answers, err = as.EvaluationAnswers(ctx, e.ID); err != nil {
			return Evaluation{}, err
		}
	}
	m, ok, err := s.metered(ctx, enterprise, year)
	if err != nil {
		return Evaluation{}, err
	}
	if !ok {
		out.Note = fmt.Sprintf("no metered data for %d: the evaluation needs the metered balance (%d年无计量数据)", year, year)
		out.Result = evaluate.Evaluate(evaluate.Input{Industry: e.Industry, Answers: answers,
			Balance: balance.Evaluate(nil, nil, balance.Options{Settings: s.Opts.withDefaults().Settings})})
		return out, nil
	}
	out.Metered, out.From, out.To = true, &m.From, &m.To
	out.Result = evaluate.Evaluate(evaluate.Input{Industry: e.Industry, Balance: m.Report, Answers: answers})
	return out, nil
}

// answerSource is a store that keeps the evaluation's declared answers
// (store.EvaluationAnswers).
type answerSource interface {
	EvaluationAnswers(ctx context.Context, enterprise string) ([]evaluate.Answer, error)
}

// metered reads one enterprise's metered figures for year in one query.
func (s *Service) metered(ctx context.Context, id string, year int) (Metered, bool, error) {
	opts := s.Opts.withDefaults()
	pts, err := s.Src.Points(ctx, store.Filter{Enterprise: id})
	if err != nil {
		return Metered{}, false, err
	}
	from, to := yearBounds(year, s.now(), opts.Location)
	if !to.After(from) {
		return Metered{}, false, nil
	}
	recs, err := s.Src.ProductionRecords(ctx, production.Filter{Enterprises: []string{id}, From: from, To: to})
	if err != nil {
		return Metered{}, false, err
	}
	var m Metered
	found := false
	_, err = MeteredAll(ctx, s.Src, []string{id}, map[string][]meter.Point{id: pts}, map[string][]production.Record{id: recs}, from, to, opts,
		func(_ string, x Metered) { m, found = x, true })
	return m, found, err
}

// Benchmark ranks the enterprises of an industry that make one product by
// intake per unit for year (single-product enterprises with figures, from
// the year's snapshot). The best ones are evaluated for the
// water-efficiency leader rule (evaluate.Benchmark).
type Benchmark struct {
	Industry string            `json:"industry"`
	Product  string            `json:"product"`
	Unit     string            `json:"unit"`
	Year     int               `json:"year"`
	Bar      *evaluate.Bar     `json:"leader_bar"`
	Ranked   []evaluate.Ranked `json:"ranked"`
}

// Benchmark ranks industry's enterprises on product for year.
func (s *Service) Benchmark(ctx context.Context, industry, product string, year int) (Benchmark, error) {
	p, ok := balance.LookupProduct(product)
	if !ok {
		return Benchmark{}, refusal.New(ErrInvalid, "unknown product %q: not in the plan's table (未知产品)", product)
	}
	snap, err := s.Snapshot(ctx, year)
	if err != nil {
		return Benchmark{}, err
	}
	out := Benchmark{Industry: industry, Product: p.Name, Unit: "m3/" + p.Unit, Year: year}
	quotas := balance.BuiltinQuotas()
	if b, ok := evaluate.LeaderBar(p.Name, quotas); ok {
		out.Bar = &b
	}
	var entries []evaluate.Entry
	for _, id := range sortedKeys(snap.Figures[year]) {
		e, f := snap.Enterprises[id], snap.Figures[year][id]
		q, single := f.Output[p.Name]
		if e.Industry != industry || !single || len(f.Output) != 1 || !f.Intake.OK || q <= 0 {
			continue
		}
		entries = append(entries, evaluate.Entry{Enterprise: id, Name: e.Name, Value: f.Intake.Value / q, Basis: string(f.Basis)})
	}
	// Evaluate the enterprises in the best share only: the others cannot be
	// candidates whatever their evaluation.
	first := evaluate.Benchmark(p.Name, quotas, entries)
	top := map[string]bool{}
	for _, r := range first {
		if r.Why != "" || r.Leader {
			top[r.Enterprise] = true
		}
	}
	for i, e := range entries {
		if !top[e.Enterprise] || e.Basis != string(target.Metered) {
			continue
		}
		ev, err := s.Evaluate(ctx, e.Enterprise, year)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Benchmark{}, err
		}
		entries[i].Evaluation, entries[i].Evaluated, entries[i].DataFailed = ev.Result.Outcome, ev.Metered, ev.Result.DataFailed
	}
	out.Ranked = evaluate.Benchmark(p.Name, quotas, entries)
	return out, nil
}
