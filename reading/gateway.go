package reading

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Trust levels: where the signature of a reading was made. A meter-signed
// reading was signed inside the meter; a gateway-signed one by the gateway
// that decoded a legacy device's frame (the device itself cannot sign), so
// an auditor checks it against the raw frame the gateway kept.
const (
	TrustMeter   = "meter-signed"
	TrustGateway = "gateway-signed"
)

// Via records, in a gateway-signed reading, the gateway that signed it and
// the frame the values come from.
type Via struct {
	Gateway  string // gateway ID; the note is signed by GatewayKeyName(Gateway)
	Protocol string // "hj212", "sl651", "szy206", "cjt188", "modbus", "push"
	Device   string // the device's address in its protocol (HJ 212 MN, SL 651 station, …)
	Frame    Hash   // SHA-256 of the raw frame as received
}

// FrameHash returns the hash a gateway-signed reading quotes for a raw frame.
func FrameHash(raw []byte) Hash { return sha256.Sum256(raw) }

// Trust returns the reading's trust level, TrustGateway or TrustMeter.
func (r *Reading) Trust() string {
	if r.Via != nil {
		return TrustGateway
	}
	return TrustMeter
}

// GatewayKeyName is the note key name a gateway signs readings with.
func GatewayKeyName(gatewayID string) string { return "gateway/" + gatewayID }

// SignerName is the key name that must sign r: its gateway's for a
// gateway-signed reading, its meter's otherwise.
func (r *Reading) SignerName() string {
	if r.Via != nil {
		return GatewayKeyName(r.Via.Gateway)
	}
	return KeyName(r.Meter)
}

// Validate checks a Via's fields.
func (v *Via) Validate() error {
	if err := validID(v.Gateway); err != nil {
		return fmt.Errorf("gateway: %v", err)
	}
	if !validProtocol(v.Protocol) {
		return fmt.Errorf("protocol %q: want 1-16 characters of [a-z0-9]", v.Protocol)
	}
	if err := ValidDevice(v.Device); err != nil {
		return err
	}
	if v.Frame.IsZero() {
		return fmt.Errorf("no frame hash")
	}
	return nil
}

func (v *Via) write(b *bytes.Buffer) {
	b.WriteString("gateway ")
	b.WriteString(v.Gateway)
	b.WriteString("\nprotocol ")
	b.WriteString(v.Protocol)
	b.WriteString("\ndevice ")
	b.WriteString(v.Device)
	b.WriteString("\nframe ")
	b.WriteString(v.Frame.String())
	b.WriteByte('\n')
}

// viaKeys are the gateway lines in their one order.
var viaKeys = [...]string{"gateway", "protocol", "device", "frame"}

const viaLines = len(viaKeys)

func isViaKey(key []byte) bool {
	for _, k := range viaKeys {
		if string(key) == k {
			return true
		}
	}
	return false
}

// reservedChannel reports whether a name is a line key of the reading
// format, which a channel may not take.
func reservedChannel[T string | []byte](s T) bool {
	switch string(s) {
	case "meter", "seq", "time", "prev", "point", "cp", "gateway", "protocol", "device", "frame":
		return true
	}
	return false
}

// viaParser collects the gateway lines of a reading in their order.
type viaParser struct {
	v Via
	n int
}

func (p *viaParser) line(key, val []byte, afterPoint bool) error {
	if p.n >= viaLines || string(key) != viaKeys[p.n] {
		return fmt.Errorf("%s out of place: the gateway lines are gateway, protocol, device, frame, once each", key)
	}
	if p.n == 0 && !afterPoint {
		return fmt.Errorf("the gateway lines must follow point")
	}
	switch p.n {
	case 0:
		if err := validID(val); err != nil {
			return fmt.Errorf("gateway: %v", err)
		}
		p.v.Gateway = string(val)
	case 1:
		if !validProtocol(val) {
			return fmt.Errorf("protocol %q: want 1-16 characters of [a-z0-9]", val)
		}
		p.v.Protocol = string(val)
	case 2:
		if err := ValidDevice(string(val)); err != nil {
			return err
		}
		p.v.Device = string(val)
	case 3:
		var buf [33]byte
		n, err := base64.StdEncoding.Decode(buf[:], val)
		if err != nil || n != 32 || len(val) != 44 {
			return fmt.Errorf("frame is not a base64 SHA-256")
		}
		copy(p.v.Frame[:], buf[:32])
	}
	p.n++
	return nil
}

func validProtocol[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidDevice checks a legacy device's address as a gateway-signed reading
// names it: 1–64 characters of [A-Za-z0-9._:/-] (a Modbus device is
// "host:port/unit").
func ValidDevice(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return fmt.Errorf("device %.20q: want 1-64 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:/-", c) >= 0) {
			return fmt.Errorf("device %q: character %q not allowed (use A-Z a-z 0-9 . _ : / -)", id, c)
		}
	}
	return nil
}

// SignGateway signs a gateway-signed reading with the gateway's note signer
// and returns the signed note bytes. r.Via must be set and the signer named
// GatewayKeyName(r.Via.Gateway).
func SignGateway(r *Reading, signer note.Signer) ([]byte, error) {
	if r.Via == nil {
		return nil, fmt.Errorf("sign reading of %s: not a gateway reading", r.Meter)
	}
	if err := r.Via.Validate(); err != nil {
		return nil, fmt.Errorf("sign reading of %s: %w", r.Meter, err)
	}
	if signer.Name() != GatewayKeyName(r.Via.Gateway) {
		return nil, fmt.Errorf("sign reading of %s via %s with key %q", r.Meter, r.Via.Gateway, signer.Name())
	}
	return note.Sign(&note.Note{Text: r.Text()}, signer)
}
