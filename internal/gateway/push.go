package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/reading"
)

// Decoder decodes and checks one raw frame of a protocol (CRC, length) into
// a Frame without Raw; the protocol servers' codecs provide them.
type Decoder func(raw []byte) (Frame, error)

// Errors of a push.
var (
	// ErrUnauthorized: no device with that push token.
	ErrUnauthorized = errors.New("push: unknown device or wrong token")
	// ErrBadFrame: the body is not a valid frame of the protocol.
	ErrBadFrame = errors.New("push: bad frame")
)

// MaxPushBody bounds a pushed frame or JSON body.
const MaxPushBody = 64 << 10

// Pusher takes frames an NB-IoT platform (China Telecom AEP, OneNET …)
// pushes over HTTP on behalf of a device: either a raw frame of a protocol
// with a decoder, or a JSON body (protocol "push"). The device is
// authenticated by the push token of its mapping; the frame then takes the
// same road as one a protocol server received (Sink.Deliver).
type Pusher struct {
	Mappings *Mappings
	Sink     Sink
	Decoders map[string]Decoder // by protocol
}

// PushBody is the JSON form of a pushed frame (protocol "push").
type PushBody struct {
	Device string             `json:"device"`
	Time   time.Time          `json:"time"`
	Values map[string]float64 `json:"values"`
	Flags  map[string]string  `json:"flags,omitempty"`
}

// Push authenticates and delivers one pushed frame. device names the sender
// for a raw frame (the frame's own address must match it); for protocol
// "push" it is taken from the body when empty.
func (p *Pusher) Push(ctx context.Context, protocol, device string, token, body []byte) (Frame, error) {
	if len(body) > MaxPushBody {
		return Frame{}, refusal.New(ErrBadFrame, "body of %d bytes, limit %d", len(body), MaxPushBody)
	}
	var f Frame
	switch {
	case protocol == ProtocolPush:
		var err error
		if f, err = ParsePushBody(body); err != nil {
			return Frame{}, err
		}
		if device != "" && f.Device != device {
			return Frame{}, refusal.New(ErrBadFrame, "body names device %q, the request %q", f.Device, device)
		}
	default:
		decode := p.Decoders[protocol]
		if decode == nil {
			return Frame{}, refusal.New(ErrBadFrame, "protocol %q cannot be pushed here (known: push and %v)", protocol, keys(p.Decoders))
		}
		var err error
		if f, err = decode(body); err != nil {
			return Frame{}, refusal.New(ErrBadFrame, "%s frame: %v", protocol, err)
		}
		f.Protocol = protocol
		if device != "" && f.Device != device {
			return Frame{}, refusal.New(ErrBadFrame, "frame is from device %q, the request names %q", f.Device, device)
		}
	}
	if !p.Mappings.Authorize(ctx, f.Protocol, f.Device, token) {
		return Frame{}, ErrUnauthorized
	}
	f.Raw = bytes.Clone(body)
	if err := p.Sink.Deliver(ctx, f); err != nil {
		return f, fmt.Errorf("deliver %s/%s: %w", f.Protocol, f.Device, err)
	}
	return f, nil
}

// ParsePushBody decodes and checks a JSON push body (PushBody) into a
// Frame of protocol "push" without Raw. Its errors wrap ErrBadFrame.
func ParsePushBody(body []byte) (Frame, error) {
	var b PushBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return Frame{}, refusal.New(ErrBadFrame, "JSON body: %v", err)
	}
	if dec.More() {
		return Frame{}, refusal.New(ErrBadFrame, "JSON body: more than one object")
	}
	if err := reading.ValidDevice(b.Device); err != nil {
		return Frame{}, refusal.New(ErrBadFrame, "device: %v", err)
	}
	if err := reading.CheckTime(b.Time); err != nil {
		return Frame{}, refusal.New(ErrBadFrame, "time: %v", err)
	}
	if len(b.Values) == 0 || len(b.Values) > 256 {
		return Frame{}, refusal.New(ErrBadFrame, "values: want 1-256 fields")
	}
	for k, v := range b.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Frame{}, refusal.New(ErrBadFrame, "values.%s is not finite", k)
		}
	}
	return Frame{Protocol: ProtocolPush, Device: b.Device, Time: b.Time, Values: b.Values, Flags: b.Flags}, nil
}

func keys(m map[string]Decoder) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
