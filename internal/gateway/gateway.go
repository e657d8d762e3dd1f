// Package gateway connects legacy field devices — flowmeters, online analysers and RTUs that speak
// China's national protocols (HJ 212-2017, SL 651-2014, SZY 206-2016, Modbus) and cannot sign — to the
// platform. A protocol server (internal/gateway/hj212gw, sl651gw, szy206gw, modbusgw, the HTTP push
// endpoint) receives and checks a device's frame and hands it to a Sink as a Frame; the Sink maps the
// frame's fields to metering points and channels, signs each resulting reading with the gateway's own
// Ed25519 key (trust level gateway-signed, the raw frame's SHA-256, the device and the gateway recorded
// in the signed note) and submits it to ingest like a native meter's reading. The raw frames are kept
// in an archive so an auditor can re-check a gateway-signed reading against the bytes the device sent.
package gateway

import (
	"context"
	"errors"
	"time"
)

// Protocol names as used in Frame.Protocol, in mappings and in signed readings.
const (
	ProtocolHJ212  = "hj212"
	ProtocolSL651  = "sl651"
	ProtocolSZY206 = "szy206"
	ProtocolCJT188 = "cjt188" // CJ/T 188 utility meters, pushed by NB-IoT platforms only
	ProtocolModbus = "modbus"
	ProtocolPush   = "push"
)

// Frame is one data frame a legacy device sent, decoded and checked (CRC, length, password) by its
// protocol server. Values are keyed by the field name as written in the frame (HJ 212 "w00000-Cou",
// SL 651 "PJ", SZY 206 element names, Modbus register names from the map).
type Frame struct {
	Protocol string             // "hj212", "sl651", "szy206", "cjt188", "modbus", "push"
	Device   string             // HJ 212 MN; SL 651 station address (hex digits); SZY 206 address; CJ/T 188 address (14 digits); Modbus "host:port/unit"
	Raw      []byte             // the exact bytes received (split packets: every part, in order, concatenated)
	Time     time.Time          // the data time the frame states (with its zone)
	Values   map[string]float64 // field → number
	Flags    map[string]string  // field → the device's data flag where the protocol has one (HJ 212 N/F/M/S/D/C/T/B)
	// Period, when the values cover a span that starts at Time (HJ 212
	// hourly and daily data: DataTime is the period's start), is its
	// length: the readings are dated at its end, as interval channels
	// count. Zero: the values are of Time.
	Period time.Duration
}

// HJ212Period is the span the values of an HJ 212-2017 data upload cover
// (its DataTime being the span's start): an hour for hourly data (2061), a
// day for daily data (2031, 2041); zero for real-time data (2011, 2021) and
// for minute data (2051), whose interval the data logger sets and the frame
// does not state — those are dated at DataTime.
func HJ212Period(cn string) time.Duration {
	switch cn {
	case "2061":
		return time.Hour
	case "2031", "2041":
		return 24 * time.Hour
	}
	return 0
}

// Sink maps a frame's values to metering points and channels, signs each resulting reading with the
// gateway's key (trust level gateway-signed, the raw frame's SHA-256 and the device recorded), and
// submits it to ingest. Deliver returns when every reading is acknowledged (ledger + store) or refused;
// the protocol server answers the device after that. ErrUnknownDevice: no mapping for the device.
type Sink interface {
	Deliver(ctx context.Context, f Frame) error
}

// Devices tells a protocol server whether a device is known and its password (HJ 212 PW), so a server
// can refuse a device before decoding its data.
type Devices interface {
	Device(protocol, id string) (DeviceInfo, bool)
}

// DeviceInfo is what a protocol server needs to know of a device before decoding its data.
type DeviceInfo struct{ Password string }

// ErrUnknownDevice is returned by Sink.Deliver for a device that has no mapping.
var ErrUnknownDevice = errors.New("gateway: unknown device")
