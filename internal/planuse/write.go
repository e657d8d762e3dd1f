package planuse

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/waterplan"
)

// The use cases of plans and permits: set an enterprise's plan, import
// plans from CSV, keep permits, and the views the routes answer from the
// board. Who may do what is the caller's: a use case that touches an
// enterprise asks scope (the caller's own check, e.g. the API's tenant
// scope) before writing, and writes nothing when it refuses. A refused
// request wraps store.ErrInvalid (or store.ErrConflict for overlapping
// permits) with its reason; every write drops the cached boards.

// ErrNoPlanStore is returned by the writes when the service has no store
// that keeps plans (Plans nil and Src not a store.Plans).
var ErrNoPlanStore = errors.New("planuse: this store keeps no water-use plans")

// MaxPermitID is the longest permit number, in bytes.
const MaxPermitID = 128

// Scope reports whether the caller may write the records of an
// enterprise: nil, or the error to refuse with (store.ErrNotFound for an
// enterprise unknown).
type Scope func(ctx context.Context, enterprise string) error

// Writable reports whether the service has a store to write plans and
// permits to.
func (s *Service) Writable() bool {
	_, err := s.writer()
	return err == nil
}

func (s *Service) writer() (store.Plans, error) {
	if s.Plans != nil {
		return s.Plans, nil
	}
	if ps, ok := s.Src.(store.Plans); ok {
		return ps, nil
	}
	return nil, ErrNoPlanStore
}

// SetPlan stores an enterprise's plan for year: the annual figure split
// over the months by their days unless monthly is given, whose months
// must then sum to it (waterplan.CheckAnnual).
func (s *Service) SetPlan(ctx context.Context, enterprise string, year int, annual float64, monthly *[12]float64) (waterplan.Plan, error) {
	ps, err := s.writer()
	if err != nil {
		return waterplan.Plan{}, err
	}
	plan := waterplan.SplitEvenly(enterprise, year, annual)
	if monthly != nil {
		plan.Monthly = *monthly
	}
	if err := plan.CheckAnnual(annual); err != nil {
		return waterplan.Plan{}, refusal.New(store.ErrInvalid, "计划被拒绝 / plan refused: %v", err)
	}
	if err := plan.Validate(); err != nil {
		return waterplan.Plan{}, refusal.New(store.ErrInvalid, "计划被拒绝 / plan refused: %v", err)
	}
	if err := ps.PutPlan(ctx, plan); err != nil {
		return waterplan.Plan{}, err
	}
	s.Invalidate()
	return plan, nil
}

// ImportPlans stores the plans of a CSV file (waterplan.ParsePlansCSV) all
// or none: every refused row is reported with its line and field, and an
// enterprise unknown or outside scope refuses the file. It returns the
// number of plans stored.
func (s *Service) ImportPlans(ctx context.Context, csv io.Reader, scope Scope) (int, error) {
	ps, err := s.writer()
	if err != nil {
		return 0, err
	}
	plans, err := waterplan.ParsePlansCSV(csv)
	if err != nil {
		return 0, refusal.New(store.ErrInvalid, "导入被拒绝，未保存任何计划 / import refused, no plan stored:\n%v", err)
	}
	for i, pl := range plans {
		if err := scope(ctx, pl.Enterprise); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = refusal.New(store.ErrInvalid, "导入被拒绝，未保存任何计划 / import refused, no plan stored: plan %d, field enterprise: no enterprise %s", i+1, pl.Enterprise)
			}
			return 0, err
		}
	}
	for _, pl := range plans {
		if err := ps.PutPlan(ctx, pl); err != nil {
			return 0, err
		}
	}
	s.Invalidate()
	return len(plans), nil
}

// Permits lists an enterprise's permits (all years; never nil).
func (s *Service) Permits(ctx context.Context, enterprise string) ([]waterplan.Permit, error) {
	list, err := s.Src.Permits(ctx, []string{enterprise})
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []waterplan.Permit{}
	}
	return list, nil
}

// PutPermit stores a permit under its number, for an enterprise in scope;
// a validity overlapping another permit of the enterprise for the same
// source is refused (store.ErrConflict, naming that permit).
func (s *Service) PutPermit(ctx context.Context, pm waterplan.Permit, scope Scope) (waterplan.Permit, error) {
	ps, err := s.writer()
	if err != nil {
		return waterplan.Permit{}, err
	}
	if len(pm.ID) > MaxPermitID {
		return waterplan.Permit{}, refusal.New(store.ErrInvalid, "permit id: at most %d bytes", MaxPermitID)
	}
	if err := scope(ctx, pm.Enterprise); err != nil {
		return waterplan.Permit{}, err
	}
	if err := pm.Validate(); err != nil {
		return waterplan.Permit{}, refusal.New(store.ErrInvalid, "取水许可被拒绝 / permit refused: %v", err)
	}
	if err := ps.PutPermit(ctx, pm); err != nil {
		if errors.Is(err, waterplan.ErrOverlap) {
			return waterplan.Permit{}, refusal.New(store.ErrConflict, "取水许可有效期重叠 / %v", err)
		}
		return waterplan.Permit{}, err
	}
	s.Invalidate()
	return pm, nil
}

// DeletePermit removes a permit of an enterprise in scope
// (store.ErrNotFound when there is no such permit).
func (s *Service) DeletePermit(ctx context.Context, id string, scope Scope) error {
	ps, err := s.writer()
	if err != nil {
		return err
	}
	all, err := ps.Permits(ctx, nil)
	if err != nil {
		return err
	}
	for _, pm := range all {
		if pm.ID != id {
			continue
		}
		if err := scope(ctx, pm.Enterprise); err != nil {
			return err
		}
		if err := ps.DeletePermit(ctx, id); err != nil {
			return err
		}
		s.Invalidate()
		return nil
	}
	return fmt.Errorf("permit %s: %w", id, store.ErrNotFound)
}

// ParkHeadroom is a park's allocation, intake so far, remainder and the
// production it allows (以水定产), with its enterprises' rows.
type ParkHeadroom struct {
	Park
	Rows []Row `json:"rows"`
}

// Headroom returns a park's headroom for year from the board; a park
// without plans has an empty allocation.
func (s *Service) Headroom(ctx context.Context, pk meter.Park, year int) (ParkHeadroom, error) {
	b, err := s.Board(ctx, year)
	if err != nil {
		return ParkHeadroom{}, err
	}
	out := ParkHeadroom{Park: Park{Park: pk.ID, Name: pk.Name, Region: pk.Region, Products: []ProductHeadroom{}}, Rows: []Row{}}
	for _, v := range b.Parks {
		if v.Park == pk.ID {
			out.Park = v
		}
	}
	for _, row := range b.Rows {
		if row.Park == pk.ID {
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}
