package ingest

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// ApplyPointEntry makes a point-registration ledger entry's effect in the
// registry: the point is created, or replaced by the entry's version. It is
// idempotent, because after a crash the store catches up by applying the
// ledger's entries again; an entry that does not make a valid point, or
// whose enterprise or parent the store does not hold, is refused for good
// (store.ErrInvalid, store.ErrNotFound).
func ApplyPointEntry(ctx context.Context, reg store.Registry, pe *reading.PointEntry) error {
	p, err := meter.PointOf(pe)
	if err != nil {
		return fmt.Errorf("%w: point entry: %v", store.ErrInvalid, err)
	}
	err = reg.CreatePoint(ctx, p)
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	old, err := reg.Point(ctx, p.ID)
	if err != nil {
		return err
	}
	if reflect.DeepEqual(old, p) {
		return nil // applied before
	}
	if old.Enterprise != p.Enterprise {
		return fmt.Errorf("%w: point %s belongs to enterprise %s, the entry names %s", store.ErrConflict, p.ID, old.Enterprise, p.Enterprise)
	}
	return reg.UpdatePoint(ctx, p)
}
