package store

import (
	"context"

	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// Production keeps the production and economic records enterprises report
// (package production): output per product, value added and declared water
// statistics.
type Production interface {
	// AddProduction stores records all or nothing and returns their IDs in
	// order. Each must validate (ErrInvalid), name a registered enterprise
	// (ErrNotFound) and say who reported it and when (ErrInvalid); records
	// of one enterprise, kind and product must not overlap in time, among
	// themselves or with stored ones (ErrConflict wrapping
	// production.ErrOverlap, naming the stored record).
	AddProduction(ctx context.Context, recs []production.Record) ([]int64, error)
	// ProductionRecords lists the records f selects, sorted by enterprise,
	// kind, product, start and ID.
	ProductionRecords(ctx context.Context, f production.Filter) ([]production.Record, error)
}

// QuotaCases keeps retrofit cases (package quotacase) and their history.
type QuotaCases interface {
	// OpenQuotaCase stores a new case in state open with its first event
	// (actor and note given) and returns it with its ID. An enterprise has
	// at most one case per product that is not closed: ErrExists, with
	// that case's ID in the message, otherwise.
	OpenQuotaCase(ctx context.Context, c quotacase.Case, actor, note string) (quotacase.Case, error)
	// QuotaCase returns a case with its history, oldest event first.
	QuotaCase(ctx context.Context, id int64) (quotacase.Case, error)
	// QuotaCases lists the cases f selects, newest opened first, without
	// their history.
	QuotaCases(ctx context.Context, f quotacase.Filter) ([]quotacase.Case, error)
	// TransitionQuotaCase applies quotacase.Apply to the stored case and
	// stores the new state with the event, in one transaction: a refused
	// transition is ErrConflict wrapping the *quotacase.Refusal.
	TransitionQuotaCase(ctx context.Context, id int64, t quotacase.Transition) (quotacase.Case, error)
}
