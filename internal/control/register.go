package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Directory is what registering a plant checks a configuration against:
// its enterprise, and every meter or device it reads or drives with the
// metering point that meter is on.
type Directory interface {
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Point(ctx context.Context, id string) (meter.Point, error)
}

// RegisterPlant registers or replaces a plant's control configuration from
// outside (an operator, through the API): its enterprise must exist and
// every meter or device it names must be registered on a point of that
// enterprise; then it is validated, saved and started (Register). A refusal
// wraps store.ErrInvalid and its text names the enterprise or meter; nothing
// is saved then.
func (r *Runner) RegisterPlant(ctx context.Context, cfg *PlantConfig) error {
	dir := r.opts.Directory
	if dir == nil {
		return errors.New("control: RegisterPlant needs RunnerOptions.Directory")
	}
	if _, err := dir.Enterprise(ctx, cfg.Enterprise); errors.Is(err, store.ErrNotFound) {
		return refusal.New(store.ErrInvalid, "enterprise %q does not exist", cfg.Enterprise)
	} else if err != nil {
		return fmt.Errorf("plant %s: enterprise %s: %w", cfg.ID, cfg.Enterprise, err)
	}
	for _, id := range cfg.Meters() {
		m, err := dir.Meter(ctx, id)
		if err != nil {
			return refusal.New(store.ErrInvalid, "meter or device %q is not registered", id)
		}
		pt, err := dir.Point(ctx, m.Point)
		if err != nil || pt.Enterprise != cfg.Enterprise {
			return refusal.New(store.ErrInvalid, "meter or device %q does not belong to enterprise %s", id, cfg.Enterprise)
		}
	}
	return r.Register(ctx, cfg, true)
}
