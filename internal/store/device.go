package store

import "context"

// DeviceSecrets keeps the credential a device connects to the MQTT broker
// with. The store holds whatever opaque string the caller gives it — the
// server stores a salted hash, never the password.
type DeviceSecrets interface {
	// SetDeviceSecret stores (or replaces) a registered meter's (or
	// gateway's) credential
	// record; ErrNotFound if the meter is not registered.
	SetDeviceSecret(ctx context.Context, meterID, record string) error
	// DeviceSecret returns a meter's credential record; ErrNotFound if none.
	DeviceSecret(ctx context.Context, meterID string) (string, error)
}

// DeviceSecret is a device's credential record, as DeviceSecrets keeps it.
type DeviceSecret struct {
	Device string // a meter's or a gateway's ID
	Record string
}
