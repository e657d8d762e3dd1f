package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// ApplyKeyEntry makes a meter-key ledger entry's effect in the registry. It
// is idempotent, because after a crash the store catches up by applying the
// ledger's entries again. extra carries registry fields the ledger entry does
// not (serial, model, reporting interval); it is zero during catch-up, when
// a meter that an entry updates keeps its own. The collector comes from the
// entry: an entry without one (every entry written before the field
// existed) leaves the meter behind no collector, whose readings its
// collector then forwards in vain, never admitted wrongly.
func ApplyKeyEntry(ctx context.Context, reg store.Registry, ke *reading.KeyEntry, extra meter.Meter) error {
	if ke.IsGateway() {
		return applyGatewayEntry(ctx, reg, ke)
	}
	switch ke.Action {
	case reading.ActionRegister:
		m := MeterOf(ke, extra)
		err := reg.CreateMeter(ctx, m)
		if !errors.Is(err, store.ErrExists) {
			return err
		}
		old, err := reg.Meter(ctx, ke.Meter)
		if err != nil {
			return err
		}
		if old.Key == m.Key && old.Gateway == m.Gateway && old.Point == m.Point && old.Collector == m.Collector && !old.Revoked {
			return nil // applied before
		}
		// A new key, point or collector for a known meter ID: the later
		// entry wins. What the entry does not carry stays as it was unless
		// extra says otherwise (catch-up and a re-stated entry pass none).
		if m.Interval == 0 {
			m.Interval = old.Interval
		}
		if m.Serial == "" && m.Model == "" {
			m.Serial, m.Model = old.Serial, old.Model
		}
		return reg.UpdateMeter(ctx, m)
	case reading.ActionRevoke:
		old, err := reg.Meter(ctx, ke.Meter)
		if err != nil {
			return fmt.Errorf("revoke %s: %w", ke.Meter, err)
		}
		if old.Revoked {
			return nil
		}
		return reg.RevokeMeter(ctx, ke.Meter)
	}
	return fmt.Errorf("key entry for %s: unknown action %q", ke.Meter, ke.Action)
}

// MeterOf is the registry record a meter's registration entry makes, with
// the fields the entry does not carry (serial, model, interval) taken from
// extra.
func MeterOf(ke *reading.KeyEntry, extra meter.Meter) meter.Meter {
	return meter.Meter{ID: ke.Meter, Point: ke.Point, Key: ke.Key, Signed: meter.SigningSite(ke.Signed), Gateway: ke.Gateway,
		Collector: ke.Collector, Registered: ke.Time, Serial: extra.Serial, Model: extra.Model, Interval: extra.Interval}
}

// applyGatewayEntry makes a gateway key entry's effect in the registry,
// idempotently like ApplyKeyEntry.
func applyGatewayEntry(ctx context.Context, reg store.Registry, ke *reading.KeyEntry) error {
	switch ke.Action {
	case reading.ActionRegister:
		g := meter.Gateway{ID: ke.Gateway, Key: ke.Key, Enterprise: ke.Enterprise, Registered: ke.Time}
		err := reg.CreateGateway(ctx, g)
		if !errors.Is(err, store.ErrExists) {
			return err
		}
		old, err := reg.Gateway(ctx, ke.Gateway)
		if err != nil {
			return err
		}
		if old.Key == g.Key && !old.Revoked {
			return nil
		}
		return reg.UpdateGateway(ctx, g)
	case reading.ActionRevoke:
		old, err := reg.Gateway(ctx, ke.Gateway)
		if err != nil {
			return fmt.Errorf("revoke gateway %s: %w", ke.Gateway, err)
		}
		if old.Revoked {
			return nil
		}
		return reg.RevokeGateway(ctx, ke.Gateway)
	}
	return fmt.Errorf("key entry for gateway %s: unknown action %q", ke.Gateway, ke.Action)
}
