package gateway

import (
	"context"
	"errors"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Errors classifying a refused mapping request; the error's text says why.
var (
	ErrInvalid  = errors.New("invalid device mapping")
	ErrConflict = errors.New("device mapping conflict")
)

// MappingStore is what the device-mapping registry needs of the store.
type MappingStore interface {
	store.DeviceMappings
	Gateway(ctx context.Context, id string) (meter.Gateway, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Point(ctx context.Context, id string) (meter.Point, error)
}

// Mappings is the device-mapping registry: which legacy device feeds which
// meters and channels, checked against the registry before it is kept. Any
// entry point (the HTTP API, a command) changes mappings through it.
type Mappings struct {
	Store MappingStore
	// OnChange, if set, is called after a device's mapping changed (the
	// running sink drops its cached copy).
	OnChange func(protocol, device string)
}

// MinPushTokenLen is the shortest push token a device may be given.
const MinPushTokenLen = 16

// Put checks a mapping against the registry and keeps it: the gateway is
// registered and not revoked; every field's meter is registered, signed by
// that gateway and not revoked; its point has the channel, of the field's
// kind, in a unit the field's unit converts to. A non-empty pushToken
// becomes the token an NB-IoT platform pushes the device's frames with
// (kept as a salted hash); empty keeps the one the mapping had.
func (m *Mappings) Put(ctx context.Context, d meter.DeviceMapping, pushToken string) (meter.DeviceMapping, error) {
	d.PushTokenHash = ""
	if err := d.Validate(); err != nil {
		return meter.DeviceMapping{}, refusal.New(ErrInvalid, "%v", err)
	}
	g, err := m.Store.Gateway(ctx, d.Gateway)
	if errors.Is(err, store.ErrNotFound) {
		return meter.DeviceMapping{}, refusal.New(ErrInvalid, "gateway %q is not registered", d.Gateway)
	} else if err != nil {
		return meter.DeviceMapping{}, err
	}
	if g.Revoked {
		return meter.DeviceMapping{}, refusal.New(ErrConflict, "gateway %s is revoked", d.Gateway)
	}
	for i, f := range d.Fields {
		mt, err := m.Store.Meter(ctx, f.Meter)
		if errors.Is(err, store.ErrNotFound) {
			return meter.DeviceMapping{}, refusal.New(ErrInvalid, "fields[%d] (%s): meter %q is not registered", i, f.Field, f.Meter)
		} else if err != nil {
			return meter.DeviceMapping{}, err
		}
		if mt.Gateway != d.Gateway || mt.Revoked {
			return meter.DeviceMapping{}, refusal.New(ErrConflict, "fields[%d] (%s): meter %s is not signed by gateway %s (register it with \"gateway\": %q)", i, f.Field, f.Meter, d.Gateway, d.Gateway)
		}
		p, err := m.Store.Point(ctx, mt.Point)
		if err != nil {
			return meter.DeviceMapping{}, err
		}
		var ch *meter.Channel
		for j := range p.Channels {
			if p.Channels[j].Name == f.Channel {
				ch = &p.Channels[j]
			}
		}
		if ch == nil {
			return meter.DeviceMapping{}, refusal.New(ErrInvalid, "fields[%d] (%s): point %s has no channel %s", i, f.Field, p.ID, f.Channel)
		}
		if ch.Kind != f.Kind {
			return meter.DeviceMapping{}, refusal.New(ErrInvalid, "fields[%d] (%s): channel %s of point %s is a %s channel, the field a %s", i, f.Field, f.Channel, p.ID, ch.Kind, f.Kind)
		}
		if _, err := f.ConvertFactor(ch.Unit); err != nil {
			return meter.DeviceMapping{}, refusal.New(ErrInvalid, "fields[%d]: %v", i, err)
		}
	}
	switch {
	case pushToken != "":
		if len(pushToken) < MinPushTokenLen {
			return meter.DeviceMapping{}, refusal.New(ErrInvalid, "push_token must have at least %d characters", MinPushTokenLen)
		}
		if d.PushTokenHash, err = devicecred.HashSecret(d.Protocol+"/"+d.Device, pushToken); err != nil {
			return meter.DeviceMapping{}, err
		}
	default:
		if old, err := m.Store.DeviceMapping(ctx, d.Protocol, d.Device); err == nil {
			d.PushTokenHash = old.PushTokenHash
		}
	}
	if err := m.Store.PutDeviceMapping(ctx, d); err != nil {
		return meter.DeviceMapping{}, err
	}
	m.changed(d.Protocol, d.Device)
	return Public(d), nil
}

// Delete removes a device's mapping: its frames are refused from then on.
func (m *Mappings) Delete(ctx context.Context, protocol, device string) error {
	if err := m.Store.DeleteDeviceMapping(ctx, protocol, device); err != nil {
		return err
	}
	m.changed(protocol, device)
	return nil
}

// List returns the mappings (of one gateway, if not empty), without tokens.
func (m *Mappings) List(ctx context.Context, gateway string) ([]meter.DeviceMapping, error) {
	ds, err := m.Store.DeviceMappings(ctx, gateway)
	for i := range ds {
		ds[i] = Public(ds[i])
	}
	return ds, err
}

// Authorize checks the push token an NB-IoT platform presents for a
// device; false for an unknown device or one without a push token.
func (m *Mappings) Authorize(ctx context.Context, protocol, device string, token []byte) bool {
	d, err := m.Store.DeviceMapping(ctx, protocol, device)
	if err != nil || d.PushTokenHash == "" {
		return false
	}
	return devicecred.SecretMatches(d.PushTokenHash, protocol+"/"+device, token)
}

func (m *Mappings) changed(protocol, device string) {
	if m.OnChange != nil {
		m.OnChange(protocol, device)
	}
}

// Public is a mapping as it is shown: without the push token's hash.
func Public(d meter.DeviceMapping) meter.DeviceMapping {
	d.PushTokenHash = ""
	return d
}
