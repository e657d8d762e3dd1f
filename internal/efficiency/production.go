package efficiency

import (
	"context"
	"errors"
	"time"

	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// ErrOutsideScope is the kind of refusal of a record of an enterprise the
// reporter may not report for.
var ErrOutsideScope = errors.New("outside the reporter's scope")

// ProductionStore is what reporting production needs of the store.
type ProductionStore interface {
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	store.Production
}

// Production reports production and economic records (package production).
type Production struct {
	Store ProductionStore
	// Invalidate is called after records were stored (the targets'
	// snapshots count them); may be nil.
	Invalidate func()
	Now        func() time.Time
}

// Report stores the rows of an upload all or none, each record stamped
// with the reporter and now. Every enterprise must be registered
// (store.ErrInvalid naming the row) and one the reporter may report for
// (sees; ErrOutsideScope naming the row); a record the store refuses is
// named by its row (store.ErrInvalid, or store.ErrConflict for an
// overlap). It returns the records stored and their IDs.
func (p *Production) Report(ctx context.Context, rows []production.Row, actor string, sees func(meter.Enterprise) bool) ([]production.Record, []int64, error) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	recs := make([]production.Record, len(rows))
	seen := map[string]bool{}
	for i, row := range rows {
		rec := row.Record
		if !seen[rec.Enterprise] {
			e, err := p.Store.Enterprise(ctx, rec.Enterprise)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return nil, nil, refusal.New(store.ErrInvalid, "上传被拒绝，未保存任何记录 / upload refused, nothing stored: %s, field enterprise: no enterprise %s", row.At, rec.Enterprise)
			case err != nil:
				return nil, nil, err
			case !sees(e):
				return nil, nil, refusal.New(ErrOutsideScope, "%s, field enterprise: %s is outside this token's scope (无权为该企业填报), nothing stored", row.At, rec.Enterprise)
			}
			seen[rec.Enterprise] = true
		}
		rec.ReportedBy, rec.ReportedAt = actor, now
		recs[i] = rec
	}
	ids, err := p.Store.AddProduction(ctx, recs)
	if err != nil {
		var re *production.RecordError
		if errors.As(err, &re) && re.Index < len(rows) {
			kind := store.ErrInvalid
			if errors.Is(err, store.ErrConflict) {
				kind = store.ErrConflict
			}
			return nil, nil, refusal.New(kind, "上传被拒绝，未保存任何记录 / upload refused, nothing stored: %s: %v", rows[re.Index].At, re.Err)
		}
		return nil, nil, err
	}
	for i := range recs {
		recs[i].ID = ids[i]
		recs[i].ReportedAt = recs[i].ReportedAt.In(production.Zone)
	}
	if p.Invalidate != nil {
		p.Invalidate()
	}
	return recs, ids, nil
}
