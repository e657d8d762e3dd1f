package rollup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// computeTimeout bounds one snapshot's computation. Nobody waits for it
// (questions are answered at once, Current), so it only stops a
// computation that hangs: a province of 500,000 meters takes minutes.
const computeTimeout = time.Hour

// Service answers the targets, evaluation and benchmark questions from
// cached snapshots, without waiting for a computation (Current): a snapshot
// younger than MaxAge is answered as it is; an older one is answered too
// while a new one is computed in the background; a year without one (or a
// refresh) is answered with the computation's progress (*ComputingError)
// until it ends. One computation runs per year at a time. The metered
// figures of past years are kept for a day (PastMaxAge) and reused by the
// next snapshots.
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
	run   *progress     // the running computation; nil when none runs
	err   error         // of the last computation
	errAt time.Time     // when the last computation failed
}

// progress is a running computation's: when it started and how many volume
// series it has read of those it reads.
type progress struct {
	started      time.Time
	read, toRead atomic.Int64
}

// Computing is the state of a year's snapshot computation under way.
type Computing struct {
	Year      int       `json:"year"`
	StartedAt time.Time `json:"started_at"`
	ElapsedMs int64     `json:"elapsed_ms"`
	// SeriesRead of SeriesToRead volume series (series × years) read from
	// the store so far; SeriesToRead is 0 until the computation has
	// listed them.
	SeriesRead   int64 `json:"series_read"`
	SeriesToRead int64 `json:"series_to_read"`
}

// ComputingError is Current's answer when there is no snapshot to give
// yet: the year's first computation, or the one a refresh asked for, is
// under way.
type ComputingError struct{ Computing }

func (e *ComputingError) Error() string {
	return fmt.Sprintf("年度汇总计算中 (the roll-up of %d is being computed, for %s so far; ask again later)",
		e.Year, (time.Duration(e.ElapsedMs) * time.Millisecond).Round(time.Second))
}

// FailedError is Current's answer when the year's last computation failed
// and there is no snapshot to give: it is answered until a refresh, or
// MaxAge after the failure, starts a new one.
type FailedError struct {
	Year int
	At   time.Time
	Err  error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("年度汇总计算失败 (computing the roll-up of %d failed at %s): %v", e.Year, e.At.UTC().Format(time.RFC3339), e.Err)
}

func (e *FailedError) Unwrap() error { return e.Err }

// Status is what goes on behind an answered snapshot.
type Status struct {
	// Computing is the newer snapshot's computation under way, if any.
	Computing *Computing
	// Failed is the failure of the last computation, when it ended after
	// the answered snapshot was computed.
	Failed *FailedError
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

// Current answers at once with year's snapshot, starting a computation in
// the background where one is due (none runs for the year and: there is no
// snapshot, it is older than MaxAge or invalidated, or refresh asks for one,
// past years' metered figures then read again). With no snapshot to give —
// none yet, or refresh — the error is a *ComputingError while the
// computation runs and a *FailedError when it failed.
func (s *Service) Current(year int, refresh bool) (*Snapshot, Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slot(year)
	now := s.now()
	if sl.busy == nil {
		due := refresh
		switch {
		case sl.snap == nil:
			due = due || sl.err == nil || now.Sub(sl.errAt) >= s.maxAge()
		default:
			due = due || sl.stale || now.Sub(sl.snap.Computed) >= s.maxAge()
		}
		if due && refresh {
			s.past.clear()
		}
		if due {
			s.start(sl, year)
		}
	}
	var st Status
	if sl.run != nil {
		st.Computing = sl.run.state(year, time.Now())
	}
	st.Failed = sl.failed(year)
	switch {
	case sl.snap != nil && !refresh:
		return sl.snap, st, nil
	case st.Computing != nil:
		return nil, st, &ComputingError{*st.Computing}
	default:
		return nil, st, st.Failed
	}
}

func (s *Service) slot(year int) *slot {
	if s.years == nil {
		s.years = map[int]*slot{}
	}
	sl := s.years[year]
	if sl == nil {
		sl = &slot{}
		s.years[year] = sl
	}
	return sl
}

func (p *progress) state(year int, now time.Time) *Computing {
	return &Computing{Year: year, StartedAt: p.started, ElapsedMs: now.Sub(p.started).Milliseconds(),
		SeriesRead: p.read.Load(), SeriesToRead: p.toRead.Load()}
}

// Snapshot returns year's snapshot: the cached one, or a new one, waited
// for, when there is none (tests and benchmarks; the API answers with
// Current and does not wait).
func (s *Service) Snapshot(ctx context.Context, year int) (*Snapshot, error) {
	snap, _, err := s.Current(year, false)
	var ce *ComputingError
	if !errors.As(err, &ce) {
		return snap, err
	}
	s.mu.Lock()
	busy := s.slot(year).busy
	s.mu.Unlock()
	if busy != nil {
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slot(year)
	if f := sl.failed(year); f != nil {
		return nil, f
	}
	return sl.snap, nil
}

// failed is the failure of the slot's last computation of year, nil if it
// did not fail.
func (sl *slot) failed(year int) *FailedError {
	if sl.err == nil {
		return nil
	}
	return &FailedError{Year: year, At: sl.errAt, Err: sl.err}
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

// start runs a computation of year in the background; s.mu is held.
func (s *Service) start(sl *slot, year int) {
	done := make(chan struct{})
	run := &progress{started: time.Now()}
	sl.busy, sl.run, sl.stale = done, run, false
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), computeTimeout)
		defer cancel()
		opts := s.Opts
		opts.progress = run
		snap, err := compute(ctx, s.Src, year, s.now(), opts, &s.past)
		s.mu.Lock()
		if err == nil {
			sl.snap, sl.errAt = snap, time.Time{}
		} else {
			sl.errAt = s.now()
		}
		sl.err, sl.busy, sl.run = err, nil, nil
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
	// Computing is the newer snapshot's computation under way, if any.
	Computing *Computing `json:"computing,omitempty"`
	// RefreshError is the failure of the last computation, when it ended
	// after this snapshot was computed.
	RefreshError string `json:"refresh_error,omitempty"`
}

// Targets reports the unit of level and code for year at once (Current:
// a *ComputingError while the year has no snapshot to give).
func (s *Service) Targets(level target.Level, code string, year int, refresh bool) (Targets, error) {
	snap, st, err := s.Current(year, refresh)
	if err != nil {
		return Targets{}, err
	}
	u, ok := snap.Tree.Unit(level, code)
	if !ok {
		return Targets{}, refusal.New(ErrNotFound, "no %s %q in the roll-up (无此单位)", level, code)
	}
	out := Targets{Report: target.Progress(u, year), ComputedAt: snap.Computed, TookMs: snap.Took.Milliseconds(), Computing: st.Computing}
	if st.Failed != nil {
		out.RefreshError = st.Failed.Error()
	}
	return out, nil
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

// Benchmark ranks industry's enterprises on product for year, from the
// year's snapshot as it is (Current: a *ComputingError while there is
// none); only the best share's enterprises are then read, one by one.
func (s *Service) Benchmark(ctx context.Context, industry, product string, year int) (Benchmark, error) {
	p, ok := balance.LookupProduct(product)
	if !ok {
		return Benchmark{}, refusal.New(ErrInvalid, "unknown product %q: not in the plan's table (未知产品)", product)
	}
	snap, _, err := s.Current(year, false)
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
