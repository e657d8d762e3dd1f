package store

import (
	"context"

	"github.com/shuixiao/shuixiao/waterplan"
)

// Plans keeps enterprises' annual water-use plans (计划用水, split by month)
// and their withdrawal permits (取水许可), package waterplan.
type Plans interface {
	// PutPlan stores an enterprise's plan for its year, replacing the one
	// held. The plan must validate (ErrInvalid) and name a registered
	// enterprise (ErrNotFound).
	PutPlan(ctx context.Context, p waterplan.Plan) error
	// WaterPlans lists the plans of year (0: every year) of the enterprises
	// given (none: all), sorted by enterprise and year.
	WaterPlans(ctx context.Context, year int, enterprises []string) ([]waterplan.Plan, error)
	// PutPermit stores a permit under its number (ID), replacing the one
	// held with that number for the same enterprise. It must validate
	// (ErrInvalid), name a registered enterprise (ErrNotFound), not belong
	// to another enterprise (ErrConflict) and not overlap in validity
	// another permit of the enterprise for the same source (ErrConflict
	// wrapping waterplan.ErrOverlap, naming that permit): checked and
	// written in one transaction.
	PutPermit(ctx context.Context, p waterplan.Permit) error
	// DeletePermit removes a permit (ErrNotFound if none).
	DeletePermit(ctx context.Context, id string) error
	// Permits lists the permits of the enterprises given (none: all),
	// sorted by enterprise, source, validity start and number.
	Permits(ctx context.Context, enterprises []string) ([]waterplan.Permit, error)
}
