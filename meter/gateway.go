package meter

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

// Gateway is a protocol gateway (协议网关): the key that signs the readings
// of legacy devices (HJ 212, SL 651, SZY 206, Modbus …) which cannot sign
// themselves. It runs in the server or in an edge box at an enterprise; its
// key is registered and revoked on the ledger like a meter's.
type Gateway struct {
	ID  string `json:"id"`
	Key string `json:"key"` // C2SP note verifier key, name "gateway/<ID>"
	// Enterprise owns the edge box, if the gateway runs at one; empty for
	// the server's own gateway.
	Enterprise string    `json:"enterprise,omitempty"`
	Revoked    bool      `json:"revoked"`
	Registered time.Time `json:"registered"`
}

// Trust is the trust level of a meter's data (reading.TrustMeter or
// reading.TrustGateway): where its readings are signed.
func (m Meter) Trust() string {
	if m.Signed == SignedByGateway {
		return reading.TrustGateway
	}
	return reading.TrustMeter
}

// DeviceMapping (设备映射) says what a legacy device's frames mean: for each
// field as written in the frame (HJ 212 "w00000-Cou", SZY 206 or SL 651 "PJ",
// a Modbus register name) the meter and channel it feeds and how its unit
// converts. Each meter is registered signed by the mapping's gateway; a
// frame becomes one reading per meter.
type DeviceMapping struct {
	Protocol string `json:"protocol"` // "hj212", "sl651", "szy206", "cjt188", "modbus", "push"
	Device   string `json:"device"`   // HJ 212 MN, SL 651 station, SZY 206 address, Modbus "host:port/unit"
	// Password is the HJ 212 PW the device must send; empty: not checked.
	Password string `json:"password,omitempty"`
	// Gateway signs the device's readings.
	Gateway string         `json:"gateway"`
	Fields  []FieldMapping `json:"fields"`
	// PushTokenHash is the salted hash of the token an NB-IoT platform
	// presents when it pushes this device's frames; empty: push refused.
	PushTokenHash string `json:"push_token_hash,omitempty"`
}

// FieldMapping maps one frame field to a meter's channel.
type FieldMapping struct {
	Field   string `json:"field"`
	Meter   string `json:"meter"`
	Channel string `json:"channel"`
	// Kind is the field's nature — total (a totaliser), interval (a volume
	// over the frame's interval) or rate (instantaneous) — and must be the
	// channel's: a mapping that would difference a rate is refused.
	Kind Kind `json:"kind"`
	// Unit is the unit the device reports in; the value is converted to the
	// channel's unit (ConvertUnit). Empty: the channel's unit.
	Unit string `json:"unit,omitempty"`
	// TonneIsCubicMetre allows t → m³ (and t/h → m³/h) at 1 t = 1 m³, which
	// holds for water only; it must be stated, never assumed.
	TonneIsCubicMetre bool `json:"tonne_is_cubic_metre,omitempty"`
}

// MaxFields bounds the fields of one device mapping.
const MaxFields = 64

// Validate checks a mapping's own fields (not the registry it refers to).
func (d DeviceMapping) Validate() error {
	switch d.Protocol {
	case "hj212", "sl651", "szy206", "cjt188", "modbus", "push":
	default:
		return fmt.Errorf("protocol %q: want hj212, sl651, szy206, cjt188, modbus or push", d.Protocol)
	}
	if err := reading.ValidDevice(d.Device); err != nil {
		return err
	}
	if err := reading.ValidID(d.Gateway); err != nil {
		return fmt.Errorf("gateway: %v", err)
	}
	if len(d.Password) > 64 || strings.ContainsAny(d.Password, ";,=&\r\n") {
		return fmt.Errorf("password: at most 64 characters, none of ; , = & or line breaks")
	}
	if len(d.Fields) == 0 || len(d.Fields) > MaxFields {
		return fmt.Errorf("device %s: want 1-%d fields, got %d", d.Device, MaxFields, len(d.Fields))
	}
	seen := map[string]bool{}
	target := map[string]bool{}
	for i, f := range d.Fields {
		if f.Field == "" || len(f.Field) > 64 || strings.ContainsAny(f.Field, " ;,=&\r\n") {
			return fmt.Errorf("fields[%d]: field name %q: 1-64 characters without spaces or ; , = &", i, f.Field)
		}
		if seen[f.Field] {
			return fmt.Errorf("fields[%d]: field %s mapped twice", i, f.Field)
		}
		seen[f.Field] = true
		if err := reading.ValidID(f.Meter); err != nil {
			return fmt.Errorf("fields[%d] (%s): meter: %v", i, f.Field, err)
		}
		if !reading.ValidChannel(f.Channel) {
			return fmt.Errorf("fields[%d] (%s): channel %q is not a channel name", i, f.Field, f.Channel)
		}
		if t := f.Meter + " " + f.Channel; target[t] {
			return fmt.Errorf("fields[%d] (%s): meter %s channel %s already fed by another field", i, f.Field, f.Meter, f.Channel)
		} else {
			target[t] = true
		}
		if !f.Kind.Valid() {
			return fmt.Errorf("fields[%d] (%s): kind %q: want total, interval or rate", i, f.Field, f.Kind)
		}
	}
	return nil
}

// unitFactors converts a device unit to a channel unit by multiplication.
// Only exact, unit-only conversions are here; t → m³ is added per field
// by TonneIsCubicMetre.
var unitFactors = map[[2]string]float64{
	{"L", "m3"}:        1e-3,
	{"m3", "L"}:        1e3,
	{"L/s", "m3/h"}:    3.6,
	{"L/h", "m3/h"}:    1e-3,
	{"m3/s", "m3/h"}:   3600,
	{"m3/min", "m3/h"}: 60,
	{"m3/d", "m3/h"}:   1.0 / 24,
	{"kPa", "MPa"}:     1e-3,
	{"bar", "MPa"}:     0.1,
	{"ug/L", "mg/L"}:   1e-3,
	{"g/L", "mg/L"}:    1e3,
	{"mS/cm", "uS/cm"}: 1e3,
}

// ConvertFactor returns the factor that takes a value in the field's unit
// to the channel's unit, or an error naming both units.
func (f FieldMapping) ConvertFactor(channelUnit string) (float64, error) {
	from := f.Unit
	if from == "" || from == channelUnit {
		return 1, nil
	}
	if k, ok := unitFactors[[2]string{from, channelUnit}]; ok {
		return k, nil
	}
	if f.TonneIsCubicMetre {
		switch {
		case from == "t" && channelUnit == "m3", from == "t/h" && channelUnit == "m3/h":
			return 1, nil
		case from == "kg" && channelUnit == "m3":
			return 1e-3, nil
		}
	}
	hint := ""
	if strings.HasPrefix(from, "t") && strings.HasPrefix(channelUnit, "m3") {
		hint = " (for water, state tonne_is_cubic_metre)"
	}
	return math.NaN(), fmt.Errorf("field %s: no conversion from %s to %s%s", f.Field, from, channelUnit, hint)
}
