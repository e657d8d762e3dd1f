package planuse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/waterplan"
)

// MaxAge is how long a computed board is answered before it is computed
// again.
const MaxAge = time.Minute

// Service answers the tracking routes and the plan alarms from boards
// cached per year; a board older than MaxAge is recomputed (closed months
// reused) on the next request.
type Service struct {
	Src Source
	// Plans is where plans and permits are written (write.go); nil: Src,
	// when it is a store.Plans.
	Plans store.Plans
	Opts  Options
	Now   func() time.Time

	mu     sync.Mutex
	boards map[int]*Board
	memo   pastMonths
	// compute serialises computations: concurrent requests for a stale
	// board wait for one computation.
	compute sync.Mutex
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Board returns the year's board, computed at most MaxAge ago.
func (s *Service) Board(ctx context.Context, year int) (*Board, error) {
	if b := s.cached(year); b != nil {
		return b, nil
	}
	s.compute.Lock()
	defer s.compute.Unlock()
	if b := s.cached(year); b != nil {
		return b, nil
	}
	return s.Refresh(ctx, year)
}

func (s *Service) cached(year int) *Board {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.boards[year]; b != nil && s.now().Sub(b.Computed) < MaxAge {
		return b
	}
	return nil
}

// Refresh computes the year's board now (a plan or permit was written).
func (s *Service) Refresh(ctx context.Context, year int) (*Board, error) {
	b, err := compute(ctx, s.Src, year, s.now(), s.Opts, &s.memo)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.boards == nil {
		s.boards = map[int]*Board{}
	}
	s.boards[year] = b
	s.mu.Unlock()
	return b, nil
}

// Invalidate drops the cached boards (after a plan or a permit changed).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.boards = nil
	s.mu.Unlock()
}

// Enterprise is an enterprise's tracking for a year: its status, the
// permits it holds (all years) and its row.
type Enterprise struct {
	Plan    waterplan.Plan     `json:"plan"`
	Status  waterplan.Status   `json:"status"`
	Row     Row                `json:"row"`
	Permits []waterplan.Permit `json:"permits"`
}

// EnterpriseStatus returns an enterprise's tracking for year
// (store.ErrNotFound when it has no plan for that year).
func (s *Service) EnterpriseStatus(ctx context.Context, id string, year int) (Enterprise, error) {
	b, err := s.Board(ctx, year)
	if err != nil {
		return Enterprise{}, err
	}
	st, ok := b.Statuses[id]
	if !ok {
		return Enterprise{}, fmt.Errorf("plan of %s for %d: %w", id, year, store.ErrNotFound)
	}
	out := Enterprise{Plan: b.Plans[id], Status: st}
	for _, r := range b.Rows {
		if r.Enterprise == id {
			out.Row = r
		}
	}
	if out.Permits, err = s.Src.Permits(ctx, []string{id}); err != nil {
		return Enterprise{}, err
	}
	if out.Permits == nil {
		out.Permits = []waterplan.Permit{}
	}
	return out, nil
}
