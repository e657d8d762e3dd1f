// Package registry registers and revokes meters. A meter's key is a ledger
// entry before it is a registry row: Register and Revoke sign a key entry
// (reading.KeyEntry) with the log key, sequence it through the ingest
// pipeline, and the entry's effect on the store's registry and on the
// device credentials is applied in ledger order (ingest.ApplyKeyEntry), so
// that the registry can always be rebuilt from the ledger. Any entry point
// (the HTTP API, a command-line tool) registers meters through it.
package registry

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Errors classifying a refused request; the error's text says why.
var (
	// ErrInvalid: the request itself is malformed.
	ErrInvalid = errors.New("invalid meter registration")
	// ErrConflict: the request contradicts the registry.
	ErrConflict = errors.New("meter registration conflict")
)

// Signer signs a note with the log key (*ledger.Log).
type Signer interface {
	SignNote(text string) ([]byte, error)
}

// Sequencer sequences a non-reading ledger entry (*ingest.Pipeline).
type Sequencer interface {
	SubmitEntry(ctx context.Context, e ingest.Entry) (uint64, error)
}

// Devices is told when meters are registered or revoked, so the key
// directory and the broker's credentials follow the registry.
type Devices interface {
	// Registered is called after a meter's key entry is applied.
	Registered(ctx context.Context, meterID string) error
	// Revoked is called after a meter's revocation is applied.
	Revoked(ctx context.Context, meterID string)
	// SetSecret stores the hash of a meter's MQTT password.
	SetSecret(ctx context.Context, meterID string, password string) error
	// KeyApplied is called after a gateway's key entry is applied.
	KeyApplied(ctx context.Context, ke *reading.KeyEntry) error
}

// Meters registers and revokes meters through the ledger.
type Meters struct {
	Store   store.Registry
	Ledger  Signer
	Ingest  Sequencer
	Devices Devices
	Now     func() time.Time
}

// Registration is a request to register a meter.
type Registration struct {
	ID     string
	Point  string
	Key    string // note verifier key named reading.KeyName(ID); empty when Gateway signs
	Signed meter.SigningSite
	// Gateway, if set, is the registered gateway whose key signs the
	// meter's readings (a legacy device's virtual meter); then Signed is
	// gateway and Key empty.
	Gateway string
	// Interval is the nominal reporting interval (0 to 31 days).
	Interval      time.Duration
	Serial, Model string
	// MQTTPassword, if not empty, becomes the meter's MQTT password.
	MQTTPassword string
}

// Registered is the outcome of a registration.
type Registered struct {
	Meter meter.Meter
	// Enterprise is the enterprise of the meter's point.
	Enterprise string
	// Created is false when the same meter (key and point) was registered
	// before; then Index is zero and only the password may have changed.
	Created bool
	// Index is the ledger index of the key entry.
	Index uint64
}

func invalid(format string, a ...any) error {
	return refusal.New(ErrInvalid, format, a...)
}

func conflict(format string, a ...any) error {
	return refusal.New(ErrConflict, format, a...)
}

// MaxInterval is the longest nominal reporting interval a meter may have.
const MaxInterval = 31 * 24 * time.Hour

// Register puts a meter's key on the ledger, then in the registry, and sets
// its MQTT password. Registering the same meter (ID, key and point) again
// is harmless — a device or the simulator restarting — and changes only
// the password; another key or point for a registered ID is a conflict.
func (ms *Meters) Register(ctx context.Context, req Registration) (Registered, error) {
	if req.Signed == "" {
		req.Signed = meter.SignedByMeter
	}
	if err := reading.ValidID(req.ID); err != nil {
		return Registered{}, invalid("meter id: %v", err)
	}
	if req.Interval < 0 || req.Interval > MaxInterval {
		return Registered{}, invalid("interval_s must be between 0 and %d", int64(MaxInterval/time.Second))
	}
	if req.MQTTPassword != "" {
		if err := devicecred.CheckPassword(req.MQTTPassword); err != nil {
			return Registered{}, invalid("%v", err)
		}
	}
	pt, err := ms.Store.Point(ctx, req.Point)
	if errors.Is(err, store.ErrNotFound) {
		return Registered{}, invalid("point %q does not exist", req.Point)
	} else if err != nil {
		return Registered{}, err
	}
	if _, err := ms.Store.Gateway(ctx, req.ID); err == nil {
		return Registered{}, conflict("%s is a gateway's ID", req.ID)
	}
	if req.Gateway != "" {
		req.Signed = meter.SignedByGateway
		if req.Key != "" {
			return Registered{}, invalid("a meter signed by gateway %s has no key of its own", req.Gateway)
		}
		g, err := ms.Store.Gateway(ctx, req.Gateway)
		if errors.Is(err, store.ErrNotFound) {
			return Registered{}, invalid("gateway %q is not registered", req.Gateway)
		} else if err != nil {
			return Registered{}, err
		}
		if g.Revoked {
			return Registered{}, conflict("gateway %s is revoked", req.Gateway)
		}
		if g.Enterprise != "" && g.Enterprise != pt.Enterprise {
			return Registered{}, conflict("gateway %s is enterprise %s's edge box; point %s belongs to %s", g.ID, g.Enterprise, pt.ID, pt.Enterprise)
		}
	} else if v, err := note.NewVerifier(req.Key); err != nil || v.Name() != reading.KeyName(req.ID) {
		return Registered{}, invalid("key must be a note verifier key named %s", reading.KeyName(req.ID))
	}
	if old, err := ms.Store.Meter(ctx, req.ID); err == nil {
		if old.Key == req.Key && old.Gateway == req.Gateway && old.Point == req.Point && !old.Revoked {
			if err := ms.setSecret(ctx, req); err != nil {
				return Registered{}, err
			}
			return Registered{Meter: old, Enterprise: pt.Enterprise}, nil
		}
		return Registered{}, conflict("meter %s is already registered with another key or point; revoke it and register a new meter ID", req.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Registered{}, err
	}
	ke := &reading.KeyEntry{Action: reading.ActionRegister, Meter: req.ID, Enterprise: pt.Enterprise, Point: pt.ID,
		Key: req.Key, Signed: string(req.Signed), Gateway: req.Gateway, Time: ms.Now()}
	if err := ke.Validate(); err != nil {
		return Registered{}, invalid("%v", err)
	}
	idx, err := ms.submit(ctx, ke, meter.Meter{Serial: req.Serial, Model: req.Model, Interval: req.Interval})
	if err != nil {
		return Registered{}, err
	}
	if err := ms.setSecret(ctx, req); err != nil {
		return Registered{}, err
	}
	m, err := ms.Store.Meter(ctx, req.ID)
	if err != nil {
		return Registered{}, err
	}
	return Registered{Meter: m, Enterprise: pt.Enterprise, Created: true, Index: idx}, nil
}

func (ms *Meters) setSecret(ctx context.Context, req Registration) error {
	if req.MQTTPassword == "" {
		return nil
	}
	return ms.Devices.SetSecret(ctx, req.ID, req.MQTTPassword)
}

// Revoke puts a meter's revocation on the ledger, then in the registry, and
// returns its ledger index. Revoking an unknown meter is store.ErrNotFound;
// revoking a revoked one is a conflict.
func (ms *Meters) Revoke(ctx context.Context, meterID, reason string) (uint64, error) {
	m, err := ms.Store.Meter(ctx, meterID)
	if err != nil {
		return 0, err
	}
	if m.Revoked {
		return 0, conflict("meter %s is already revoked", m.ID)
	}
	ke := &reading.KeyEntry{Action: reading.ActionRevoke, Meter: m.ID, Time: ms.Now(), Reason: reason}
	if err := ke.Validate(); err != nil {
		return 0, invalid("%v", err)
	}
	return ms.submit(ctx, ke, meter.Meter{})
}

// submit signs a key entry with the log key and sequences it; the registry
// changes when the entry is applied, in ledger order.
func (ms *Meters) submit(ctx context.Context, ke *reading.KeyEntry, extra meter.Meter) (uint64, error) {
	signed, err := ms.Ledger.SignNote(ke.Text())
	if err != nil {
		return 0, err
	}
	return ms.Ingest.SubmitEntry(ctx, ingest.Entry{Raw: signed, Key: ke, Apply: func(ctx context.Context, index uint64) error {
		if err := ingest.ApplyKeyEntry(ctx, ms.Store, ke, extra); err != nil {
			return err
		}
		if ke.IsGateway() {
			return ms.Devices.KeyApplied(ctx, ke)
		}
		if ke.Action == reading.ActionRevoke {
			ms.Devices.Revoked(ctx, ke.Meter)
			return nil
		}
		return ms.Devices.Registered(ctx, ke.Meter)
	}})
}
