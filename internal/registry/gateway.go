package registry

import (
	"context"
	"errors"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// GatewayRegistration is a request to register a protocol gateway's key.
type GatewayRegistration struct {
	ID  string
	Key string // note verifier key named reading.GatewayKeyName(ID)
	// Enterprise, for an edge box, is the enterprise it stands at: it may
	// then sign only for meters of that enterprise's points.
	Enterprise string
	// MQTTPassword, if not empty, lets the gateway's edge box log in to the
	// broker (as its ID) to forward the readings it signs.
	MQTTPassword string
}

// RegisterGateway puts a gateway's key on the ledger, then in the registry,
// like a meter's. Registering the same gateway and key again is harmless;
// another key for a registered, unrevoked gateway is a conflict.
func (ms *Meters) RegisterGateway(ctx context.Context, req GatewayRegistration) (meter.Gateway, uint64, error) {
	if err := reading.ValidID(req.ID); err != nil {
		return meter.Gateway{}, 0, invalid("gateway id: %v", err)
	}
	if v, err := note.NewVerifier(req.Key); err != nil || v.Name() != reading.GatewayKeyName(req.ID) {
		return meter.Gateway{}, 0, invalid("key must be a note verifier key named %s", reading.GatewayKeyName(req.ID))
	}
	if req.Enterprise != "" {
		if _, err := ms.Store.Enterprise(ctx, req.Enterprise); errors.Is(err, store.ErrNotFound) {
			return meter.Gateway{}, 0, invalid("enterprise %q does not exist", req.Enterprise)
		} else if err != nil {
			return meter.Gateway{}, 0, err
		}
	}
	if req.MQTTPassword != "" {
		if err := devicecred.CheckPassword(req.MQTTPassword); err != nil {
			return meter.Gateway{}, 0, invalid("%v", err)
		}
	}
	// Meters and gateways log in to the broker by their IDs: one namespace.
	if _, err := ms.Store.Meter(ctx, req.ID); err == nil {
		return meter.Gateway{}, 0, conflict("%s is a meter's ID", req.ID)
	}
	if old, err := ms.Store.Gateway(ctx, req.ID); err == nil {
		if old.Key == req.Key && old.Enterprise == req.Enterprise && !old.Revoked {
			return old, 0, ms.setGatewaySecret(ctx, req)
		}
		if !old.Revoked {
			return meter.Gateway{}, 0, conflict("gateway %s is registered with another key; revoke it first", req.ID)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return meter.Gateway{}, 0, err
	}
	ke := &reading.KeyEntry{Action: reading.ActionRegister, Gateway: req.ID, Enterprise: req.Enterprise, Key: req.Key, Time: ms.Now()}
	if err := ke.Validate(); err != nil {
		return meter.Gateway{}, 0, invalid("%v", err)
	}
	// The password is stored as the key entry is applied, and the devices
	// told of both at once.
	secret, err := secretRecord(req.ID, req.MQTTPassword)
	if err != nil {
		return meter.Gateway{}, 0, err
	}
	idx, err := ms.submit(ctx, ke, meter.Meter{}, secret)
	if err != nil {
		return meter.Gateway{}, 0, err
	}
	g, err := ms.Store.Gateway(ctx, req.ID)
	return g, idx, err
}

func (ms *Meters) setGatewaySecret(ctx context.Context, req GatewayRegistration) error {
	if req.MQTTPassword == "" {
		return nil
	}
	return ms.Devices.SetSecret(ctx, req.ID, req.MQTTPassword)
}

// RevokeGateway puts a gateway's revocation on the ledger: every reading it
// signs after that is refused, for all its meters.
func (ms *Meters) RevokeGateway(ctx context.Context, id, reason string) (uint64, error) {
	g, err := ms.Store.Gateway(ctx, id)
	if err != nil {
		return 0, err
	}
	if g.Revoked {
		return 0, conflict("gateway %s is already revoked", id)
	}
	ke := &reading.KeyEntry{Action: reading.ActionRevoke, Gateway: id, Time: ms.Now(), Reason: reason}
	if err := ke.Validate(); err != nil {
		return 0, invalid("%v", err)
	}
	return ms.submit(ctx, ke, meter.Meter{}, "")
}
