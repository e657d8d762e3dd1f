package modbusgw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"time"
)

// Config is the poller's register map, read from JSON:
//
//	{"devices": [{"address": "10.0.0.5:502", "unit": 1, "interval": "30s", "timeout": "2s",
//	  "registers": [{"name": "flow", "function": "holding", "address": 0, "type": "float32",
//	                 "word_order": "little", "scale": 1, "offset": 0, "unit": "m3/h"}]}]}
type Config struct {
	Devices []Device `json:"devices"`
}

// Device is one Modbus TCP device (or one unit behind a gateway) and the registers read
// from it each interval.
type Device struct {
	Address   string     `json:"address"`  // host:port
	Unit      uint8      `json:"unit"`     // unit identifier (slave id)
	Interval  Duration   `json:"interval"` // between polls; default 60 s
	Timeout   Duration   `json:"timeout"`  // per request; default 2 s
	Registers []Register `json:"registers"`
}

// ID is the device's name in frames and mappings: "host:port/unit".
func (d Device) ID() string { return fmt.Sprintf("%s/%d", d.Address, d.Unit) }

// Register is one value: where it is, how its registers make a number, and the linear
// conversion value = raw × scale + offset (scale 0 counts as 1). Unit documents the
// converted value's unit; the device mapping converts units.
type Register struct {
	Name      string  `json:"name"`
	Function  string  `json:"function"`   // "holding" (03H) or "input" (04H)
	Address   uint16  `json:"address"`    // first register, 0-based protocol address
	Type      string  `json:"type"`       // uint16, int16, uint32, int32, float32, float64
	WordOrder string  `json:"word_order"` // big (ABCD, default), little (CDAB), swapped (BADC), little-swapped (DCBA)
	Scale     float64 `json:"scale"`
	Offset    float64 `json:"offset"`
	Unit      string  `json:"unit"`
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// UnmarshalJSON reads "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// width is the number of registers each type takes.
var width = map[string]int{"uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "float32": 2, "float64": 4}

// orders maps word-order names to the byte permutation of the big-endian value: for
// each byte of the value, most significant first, its index in the registers' bytes.
var orders = map[string]string{"big": "ABCD", "abcd": "ABCD", "little": "CDAB", "cdab": "CDAB",
	"swapped": "BADC", "badc": "BADC", "little-swapped": "DCBA", "dcba": "DCBA"}

// ParseConfig reads and checks a register map. Errors name the device and register.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("register map: %w", err)
	}
	if err := c.Check(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Check validates the map and fills in defaults.
func (c *Config) Check() error {
	ids := map[string]bool{}
	for i := range c.Devices {
		d := &c.Devices[i]
		where := fmt.Sprintf("devices[%d]", i)
		if _, _, err := net.SplitHostPort(d.Address); err != nil {
			return fmt.Errorf("%s.address %q: %w", where, d.Address, err)
		}
		if ids[d.ID()] {
			return fmt.Errorf("%s: device %s twice", where, d.ID())
		}
		ids[d.ID()] = true
		if d.Interval == 0 {
			d.Interval = Duration(time.Minute)
		}
		if d.Timeout == 0 {
			d.Timeout = Duration(2 * time.Second)
		}
		if d.Interval < Duration(100*time.Millisecond) || d.Timeout < 0 {
			return fmt.Errorf("%s: interval %v or timeout %v out of range", where, time.Duration(d.Interval), time.Duration(d.Timeout))
		}
		if len(d.Registers) == 0 {
			return fmt.Errorf("%s: no registers", where)
		}
		names := map[string]bool{}
		for j := range d.Registers {
			r := &d.Registers[j]
			where := fmt.Sprintf("%s.registers[%d]", where, j)
			if r.Name == "" || names[r.Name] {
				return fmt.Errorf("%s: name %q empty or used twice", where, r.Name)
			}
			names[r.Name] = true
			if r.Function != "holding" && r.Function != "input" {
				return fmt.Errorf("%s (%s): function %q is neither holding nor input", where, r.Name, r.Function)
			}
			w, ok := width[r.Type]
			if !ok {
				return fmt.Errorf("%s (%s): unknown type %q (uint16, int16, uint32, int32, float32, float64)", where, r.Name, r.Type)
			}
			if int(r.Address)+w > 0x10000 {
				return fmt.Errorf("%s (%s): registers run past 65535", where, r.Name)
			}
			if r.WordOrder == "" {
				r.WordOrder = "big"
			}
			if _, ok := orders[strings.ToLower(r.WordOrder)]; !ok {
				return fmt.Errorf("%s (%s): word order %q (big, little, swapped, little-swapped)", where, r.Name, r.WordOrder)
			}
			if r.Scale == 0 {
				r.Scale = 1
			}
			if math.IsNaN(r.Scale) || math.IsInf(r.Scale, 0) || math.IsNaN(r.Offset) || math.IsInf(r.Offset, 0) {
				return fmt.Errorf("%s (%s): scale or offset not finite", where, r.Name)
			}
		}
	}
	return nil
}

// Decode turns a register's raw registers (as read, each big-endian on the wire) into
// its converted value.
func (r Register) Decode(regs []uint16) (float64, error) {
	w := width[r.Type]
	if len(regs) != w {
		return 0, fmt.Errorf("%s: %d registers, %s needs %d", r.Name, len(regs), r.Type, w)
	}
	wire := make([]byte, 0, 2*w)
	for _, v := range regs {
		wire = append(wire, byte(v>>8), byte(v))
	}
	be := make([]byte, len(wire))
	perm := orders[strings.ToLower(r.WordOrder)]
	if w == 1 {
		perm = perm[:2] // one register: "AB" keeps, "BA" swaps bytes
		if perm == "CD" {
			perm = "AB"
		} else if perm == "DC" {
			perm = "BA"
		}
	}
	// Apply the 4-byte pattern to each 32-bit half of a 64-bit value, words in the same
	// order as the pattern's halves.
	for i := range be {
		be[i] = wire[permute(perm, i, len(wire))]
	}
	var u uint64
	for _, b := range be {
		u = u<<8 | uint64(b)
	}
	var raw float64
	switch r.Type {
	case "uint16", "uint32":
		raw = float64(u)
	case "int16":
		raw = float64(int16(u))
	case "int32":
		raw = float64(int32(u))
	case "float32":
		raw = float64(math.Float32frombits(uint32(u)))
	case "float64":
		raw = math.Float64frombits(u)
	}
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 0, fmt.Errorf("%s: not a finite number (%#x)", r.Name, u)
	}
	v := raw*r.Scale + r.Offset
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%s: %v × %v + %v is not a finite number", r.Name, raw, r.Scale, r.Offset)
	}
	return v, nil
}

// permute returns the wire index of byte i of the big-endian value under pattern p
// ("ABCD" etc., or "AB"/"BA" for one register). For 8-byte values the word pattern is
// applied across four registers: "CDAB" reverses the register order, "BADC" swaps bytes
// in each register, "DCBA" does both.
func permute(p string, i, n int) int {
	if n == 2 {
		return int(p[i] - 'A')
	}
	regs := n / 2
	reg, half := i/2, i%2
	if p == "CDAB" || p == "DCBA" {
		reg = regs - 1 - reg
	}
	if p == "BADC" || p == "DCBA" {
		half = 1 - half
	}
	return 2*reg + half
}
