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
	// Registered is called after a meter's key entry is applied; secret,
	// if not empty, is the record (devicecred.HashSecret's) of the MQTT
	// password registered with it, to store before the meter's change is
	// told, so that it is told once.
	Registered(ctx context.Context, meterID, secret string) error
	// Revoked is called after a meter's revocation is applied.
	Revoked(ctx context.Context, meterID string)
	// SetSecret stores the hash of a meter's MQTT password.
	SetSecret(ctx context.Context, meterID string, password string) error
	// KeyApplied is called after a gateway's key entry is applied, with
	// the record of the MQTT password registered with it, as Registered.
	KeyApplied(ctx context.Context, ke *reading.KeyEntry, secret string) error
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
	// Collector, if set, is the registered gateway (a data collector)
	// that may forward the meter's own signed readings on its connection;
	// the trust level stays meter-signed.
	Collector string
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
	pr, err := ms.prepare(ctx, req, ms.Store.Gateway)
	if err != nil {
		return Registered{}, err
	}
	if pr.entry == nil {
		if err := ms.setSecret(ctx, pr.req); err != nil {
			return Registered{}, err
		}
		return Registered{Meter: pr.old, Enterprise: pr.point.Enterprise}, nil
	}
	// The password is stored as the key entry is applied, and the devices
	// told of both at once.
	if pr.secret, err = secretRecord(pr.req.ID, pr.req.MQTTPassword); err != nil {
		return Registered{}, err
	}
	idx, err := ms.submit(ctx, pr.entry, pr.extra(), pr.secret)
	if err != nil {
		return Registered{}, err
	}
	m, err := ms.Store.Meter(ctx, req.ID)
	if err != nil {
		return Registered{}, err
	}
	return Registered{Meter: m, Enterprise: pr.point.Enterprise, Created: true, Index: idx}, nil
}

// prepared is a registration checked against the registry: the key entry
// to sequence, or none when the same meter is registered already (old).
type prepared struct {
	req   Registration
	point meter.Point
	entry *reading.KeyEntry
	old   meter.Meter
	// secret is the record of req.MQTTPassword, for a batch's store
	// transaction (devicecred.HashSecret); secretStored is set once the
	// entry's application stored it.
	secret       string
	secretStored bool
}

// extra is what the registry keeps of a registration besides its ledger
// entry.
func (pr *prepared) extra() meter.Meter {
	return meter.Meter{Serial: pr.req.Serial, Model: pr.req.Model, Interval: pr.req.Interval}
}

// prepare checks a registration against the registry; a refusal is a
// FieldError naming the request field at fault.
// gateways looks a gateway up (store.Registry.Gateway, or a batch's
// snapshot of them).
func (ms *Meters) prepare(ctx context.Context, req Registration, gateways func(context.Context, string) (meter.Gateway, error)) (*prepared, error) {
	if req.Signed == "" {
		req.Signed = meter.SignedByMeter
	}
	if err := reading.ValidID(req.ID); err != nil {
		return nil, fieldError("id", invalid("meter id: %v", err))
	}
	if req.Interval < 0 || req.Interval > MaxInterval {
		return nil, fieldError("interval_s", invalid("interval_s must be between 0 and %d", int64(MaxInterval/time.Second)))
	}
	if req.MQTTPassword != "" {
		if err := devicecred.CheckPassword(req.MQTTPassword); err != nil {
			return nil, fieldError("mqtt_password", invalid("%v", err))
		}
	}
	pt, err := ms.Store.Point(ctx, req.Point)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("point", invalid("point %q does not exist", req.Point))
	} else if err != nil {
		return nil, err
	}
	if _, err := gateways(ctx, req.ID); err == nil {
		return nil, fieldError("id", conflict("%s is a gateway's ID", req.ID))
	}
	if req.Gateway != "" {
		req.Signed = meter.SignedByGateway
		if req.Key != "" {
			return nil, fieldError("key", invalid("a meter signed by gateway %s has no key of its own", req.Gateway))
		}
		if err := checkGateway(ctx, gateways, "gateway", req.Gateway, pt); err != nil {
			return nil, err
		}
	} else if v, err := note.NewVerifier(req.Key); err != nil || v.Name() != reading.KeyName(req.ID) {
		return nil, fieldError("key", invalid("key must be a note verifier key named %s", reading.KeyName(req.ID)))
	}
	if req.Collector != "" {
		if req.Gateway != "" {
			return nil, fieldError("collector", invalid("a meter signed by gateway %s is forwarded by it; it names no collector", req.Gateway))
		}
		if err := checkGateway(ctx, gateways, "collector", req.Collector, pt); err != nil {
			return nil, err
		}
	}
	pr := &prepared{req: req, point: pt}
	if old, err := ms.Store.Meter(ctx, req.ID); err == nil {
		if old.Key == req.Key && old.Gateway == req.Gateway && old.Point == req.Point && old.Collector == req.Collector && !old.Revoked {
			pr.old = old
			return pr, nil
		}
		return nil, fieldError("id", conflict("meter %s is already registered with another key, point or collector; revoke it and register a new meter ID", req.ID))
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	pr.entry = &reading.KeyEntry{Action: reading.ActionRegister, Meter: req.ID, Enterprise: pt.Enterprise, Point: pt.ID,
		Key: req.Key, Signed: string(req.Signed), Gateway: req.Gateway, Collector: req.Collector, Time: ms.Now()}
	if err := pr.entry.Validate(); err != nil {
		return nil, fieldError("id", invalid("%v", err))
	}
	return pr, nil
}

// checkGateway refuses a gateway (field gateway: it signs the meter's
// readings; collector: it forwards them) that is not registered, is
// revoked, or is another enterprise's edge box than point's.
func checkGateway(ctx context.Context, gateways func(context.Context, string) (meter.Gateway, error), field, id string, pt meter.Point) error {
	g, err := gateways(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fieldError(field, invalid("gateway %q is not registered", id))
	} else if err != nil {
		return err
	}
	if g.Revoked {
		return fieldError(field, conflict("gateway %s is revoked", id))
	}
	if g.Enterprise != "" && g.Enterprise != pt.Enterprise {
		return fieldError(field, conflict("gateway %s is enterprise %s's edge box; point %s belongs to %s", g.ID, g.Enterprise, pt.ID, pt.Enterprise))
	}
	return nil
}

// secretRecord is the record kept of a device's MQTT password
// (devicecred.HashSecret's), "" for none.
func secretRecord(id, password string) (string, error) {
	if password == "" {
		return "", nil
	}
	return devicecred.HashSecret(id, password)
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
	return ms.submit(ctx, ke, meter.Meter{}, "")
}

// submit signs a key entry with the log key and sequences it; the registry
// changes when the entry is applied, in ledger order (entry).
func (ms *Meters) submit(ctx context.Context, ke *reading.KeyEntry, extra meter.Meter, secret string) (uint64, error) {
	signed, err := ms.Ledger.SignNote(ke.Text())
	if err != nil {
		return 0, err
	}
	return ms.Ingest.SubmitEntry(ctx, ms.entry(signed, ke, extra, secret))
}

// entry is the ledger entry of a signed key entry, with how it applies.
// secret is the record of the MQTT password registered with the device
// (secretRecord; "" for none): the devices store it as they take the
// registration, and tell of the device once.
func (ms *Meters) entry(signed []byte, ke *reading.KeyEntry, extra meter.Meter, secret string) ingest.Entry {
	return ingest.Entry{Raw: signed, Key: ke, Apply: func(ctx context.Context, index uint64) error {
		if err := ingest.ApplyKeyEntry(ctx, ms.Store, ke, extra); err != nil {
			return err
		}
		if ke.IsGateway() {
			return ms.Devices.KeyApplied(ctx, ke, secret)
		}
		if ke.Action == reading.ActionRevoke {
			ms.Devices.Revoked(ctx, ke.Meter)
			return nil
		}
		return ms.Devices.Registered(ctx, ke.Meter, secret)
	}}
}
