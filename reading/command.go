package reading

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// CommandHeader is the first line of a command ledger entry.
const CommandHeader = "hn-water-command/v1"

// Command events. An actuator command is logged when it is issued and again
// when its outcome is known; operator changes of set-points and actuator
// modes are logged as they are made.
const (
	EventIssue    = "issue"    // a command sent to a device
	EventAck      = "ack"      // the device acknowledged and applied it
	EventNack     = "nack"     // the device refused it
	EventTimeout  = "timeout"  // no acknowledgement after every retry
	EventSetpoint = "setpoint" // an operator changed a controller set-point
	EventMode     = "mode"     // an operator put an actuator in auto, manual or lock-out
)

// Command sources: who decided the value.
const (
	SourceController = "controller" // a control loop (By names it, e.g. cooling.blowdown)
	SourceOperator   = "operator"   // a person through the API (By names the token)
	SourceInterlock  = "interlock"  // the interlock layer overrode the request (fail-safe, lock-out)
)

// Input is a named number behind a command: a sensor value or an index.
type Input struct {
	Name  string
	Value float64
}

// CommandEntry records what was commanded, why, within which limits, and
// what became of it. It is a signed note signed by the log key (like
// KeyEntry), so a verifier holding the log key can list every command and
// check that no issued value lies outside the bounds in force.
//
//	hn-water-command/v1
//	id CT1-20260115T023240.104-000123
//	event issue
//	plant PL-EN-430300-001-RW
//	enterprise EN-430300-001
//	device HN-430300-001-RW-BD
//	command blowdown_valve
//	value 42.5
//	unit %
//	requested 55
//	bounds 0 100
//	interlock rate
//	source controller
//	by cooling.blowdown
//	reason cycles 5.31 above set-point 5.00
//	input basin_cond_us_cm 2010.5
//	input makeup_cond_us_cm 401.2
//	index lsi 0.82
//	time 2026-01-15T02:32:40.104Z
//
// Outcome entries (ack, nack, timeout) repeat id, plant, device and command
// and add detail and attempts.
type CommandEntry struct {
	ID           string
	Event        string
	Plant        string
	Enterprise   string
	Device       string // "" for set-point changes, which address no device
	Command      string // actuator output or set-point name
	Value        float64
	HasValue     bool
	Unit         string
	Requested    float64 // the request before the interlocks (issue, with HasRequested)
	HasRequested bool
	Min, Max     float64 // bounds in force (issue, setpoint, mode manual), with HasBounds
	HasBounds    bool
	Interlocks   []string // interlocks that shaped the value: max, min, rate, manual, lockout, failsafe, stale …
	Mode         string   // auto, manual or locked (mode events)
	Source       string
	By           string
	Reason       string
	Inputs       []Input // sensor values behind the command
	Indices      []Input // indices behind the command (LSI, SI calcite …)
	Detail       string  // device's answer (outcomes)
	Attempts     int     // publishes before the outcome
	Time         time.Time
}

// MaxCommandInputs bounds the input and index lines of one entry.
const MaxCommandInputs = 32

// Text formats the entry as note text.
func (c *CommandEntry) Text() string {
	var b strings.Builder
	b.WriteString(CommandHeader + "\n")
	field := func(k, v string) {
		if v != "" {
			b.WriteString(k + " " + v + "\n")
		}
	}
	field("id", c.ID)
	field("event", c.Event)
	field("plant", c.Plant)
	field("enterprise", c.Enterprise)
	field("device", c.Device)
	field("command", c.Command)
	if c.HasValue {
		field("value", formatNumber(c.Value))
	}
	field("unit", c.Unit)
	if c.HasRequested {
		field("requested", formatNumber(c.Requested))
	}
	if c.HasBounds {
		field("bounds", formatNumber(c.Min)+" "+formatNumber(c.Max))
	}
	field("interlock", strings.Join(c.Interlocks, ","))
	field("mode", c.Mode)
	field("source", c.Source)
	field("by", c.By)
	field("reason", c.Reason)
	for _, in := range c.Inputs {
		field("input", in.Name+" "+formatNumber(in.Value))
	}
	for _, in := range c.Indices {
		field("index", in.Name+" "+formatNumber(in.Value))
	}
	field("detail", c.Detail)
	if c.Attempts > 0 {
		field("attempts", strconv.Itoa(c.Attempts))
	}
	field("time", c.Time.UTC().Format(time.RFC3339Nano))
	return b.String()
}

// formatNumber writes a finite number in the shortest decimal that round-trips.
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// IsOutcome reports whether the entry closes an issued command.
func (c *CommandEntry) IsOutcome() bool {
	return c.Event == EventAck || c.Event == EventNack || c.Event == EventTimeout
}

// InBounds reports whether the value lies within the bounds in force (true
// when the entry has no value or no bounds).
func (c *CommandEntry) InBounds() bool {
	if !c.HasValue || !c.HasBounds {
		return true
	}
	return c.Value >= c.Min && c.Value <= c.Max
}

// Validate checks the fields before the entry is signed.
func (c *CommandEntry) Validate() error {
	if err := validID(c.ID); err != nil {
		return fmt.Errorf("command entry: id: %w", err)
	}
	for _, f := range []struct{ name, v string }{{"plant", c.Plant}, {"enterprise", c.Enterprise}, {"device", c.Device}} {
		if f.v == "" {
			continue
		}
		if err := validID(f.v); err != nil {
			return fmt.Errorf("command entry %s: %s: %w", c.ID, f.name, err)
		}
	}
	if c.Plant == "" {
		return fmt.Errorf("command entry %s: no plant", c.ID)
	}
	if !validChannel(c.Command) {
		return fmt.Errorf("command entry %s: command %q is not a name of [a-z0-9_]", c.ID, c.Command)
	}
	switch c.Event {
	case EventIssue:
		if c.Device == "" || !c.HasValue {
			return fmt.Errorf("command entry %s: an issued command needs a device and a value", c.ID)
		}
	case EventAck, EventNack, EventTimeout:
		if c.Device == "" {
			return fmt.Errorf("command entry %s: an outcome needs the device", c.ID)
		}
	case EventSetpoint:
		if !c.HasValue {
			return fmt.Errorf("command entry %s: a set-point change needs a value", c.ID)
		}
	case EventMode:
		if c.Device == "" {
			return fmt.Errorf("command entry %s: a mode change needs the device", c.ID)
		}
		if c.Mode != "auto" && c.Mode != "manual" && c.Mode != "locked" {
			return fmt.Errorf("command entry %s: mode must be auto, manual or locked, got %q", c.ID, c.Mode)
		}
	default:
		return fmt.Errorf("command entry %s: unknown event %q", c.ID, c.Event)
	}
	for _, v := range []struct {
		name string
		v    float64
		set  bool
	}{{"value", c.Value, c.HasValue}, {"requested", c.Requested, c.HasRequested}, {"bounds min", c.Min, c.HasBounds}, {"bounds max", c.Max, c.HasBounds}} {
		if v.set && (math.IsNaN(v.v) || math.IsInf(v.v, 0)) {
			return fmt.Errorf("command entry %s: %s is not a finite number", c.ID, v.name)
		}
	}
	if c.HasBounds && c.Min > c.Max {
		return fmt.Errorf("command entry %s: bounds %g > %g", c.ID, c.Min, c.Max)
	}
	if c.Source != "" && c.Source != SourceController && c.Source != SourceOperator && c.Source != SourceInterlock {
		return fmt.Errorf("command entry %s: unknown source %q", c.ID, c.Source)
	}
	for _, il := range c.Interlocks {
		if !validChannel(strings.ReplaceAll(il, ":", "_")) {
			return fmt.Errorf("command entry %s: interlock %q is not a name", c.ID, il)
		}
	}
	for _, s := range []struct{ name, v string }{{"unit", c.Unit}, {"by", c.By}, {"reason", c.Reason}, {"detail", c.Detail}} {
		if strings.ContainsAny(s.v, "\n\r") {
			return fmt.Errorf("command entry %s: %s must be one line", c.ID, s.name)
		}
		if s.v != strings.TrimSpace(s.v) {
			return fmt.Errorf("command entry %s: %s has leading or trailing space", c.ID, s.name)
		}
	}
	if strings.ContainsAny(c.Unit, " ") {
		return fmt.Errorf("command entry %s: unit must be one word", c.ID)
	}
	if len(c.Inputs)+len(c.Indices) > MaxCommandInputs {
		return fmt.Errorf("command entry %s: more than %d inputs and indices", c.ID, MaxCommandInputs)
	}
	for _, in := range append(append([]Input(nil), c.Inputs...), c.Indices...) {
		if !validChannel(in.Name) {
			return fmt.Errorf("command entry %s: input %q is not a name of [a-z0-9_]", c.ID, in.Name)
		}
		if math.IsNaN(in.Value) || math.IsInf(in.Value, 0) {
			return fmt.Errorf("command entry %s: input %s is not a finite number", c.ID, in.Name)
		}
	}
	if c.Attempts < 0 {
		return fmt.Errorf("command entry %s: negative attempts", c.ID)
	}
	if c.Time.IsZero() {
		return fmt.Errorf("command entry %s: no time", c.ID)
	}
	if n := len(c.Text()); n > MaxSize-512 {
		return fmt.Errorf("command entry %s: %d bytes, more than %d", c.ID, n, MaxSize-512)
	}
	return nil
}

// ParseCommandEntry parses the text of a command entry (a whole signed note
// is accepted and its signatures ignored) and validates it.
func ParseCommandEntry(text []byte) (*CommandEntry, error) {
	fields, _, err := entryFields(text, CommandHeader, "command entry", func(key string) bool { return key == "input" || key == "index" })
	if err != nil {
		return nil, err
	}
	c := &CommandEntry{}
	for _, f := range fields {
		lineNo, key, val := f.line, f.key, f.val
		num := func() (float64, error) {
			v, err := parseDecimal([]byte(val))
			if err != nil {
				return 0, fmt.Errorf("command entry line %d: %s: %v", lineNo, key, err)
			}
			return v, nil
		}
		var err error
		switch key {
		case "id":
			c.ID = val
		case "event":
			c.Event = val
		case "plant":
			c.Plant = val
		case "enterprise":
			c.Enterprise = val
		case "device":
			c.Device = val
		case "command":
			c.Command = val
		case "value":
			c.Value, err = num()
			c.HasValue = true
		case "unit":
			c.Unit = val
		case "requested":
			c.Requested, err = num()
			c.HasRequested = true
		case "bounds":
			lo, hi, ok := strings.Cut(val, " ")
			if !ok {
				return nil, fmt.Errorf("command entry line %d: bounds: want \"min max\"", lineNo)
			}
			var e1, e2 error
			c.Min, e1 = parseDecimal([]byte(lo))
			c.Max, e2 = parseDecimal([]byte(hi))
			if e1 != nil || e2 != nil {
				return nil, fmt.Errorf("command entry line %d: bounds: want two decimal numbers", lineNo)
			}
			c.HasBounds = true
		case "interlock":
			c.Interlocks = strings.Split(val, ",")
		case "mode":
			c.Mode = val
		case "source":
			c.Source = val
		case "by":
			c.By = val
		case "reason":
			c.Reason = val
		case "detail":
			c.Detail = val
		case "input", "index":
			name, v, ok := strings.Cut(val, " ")
			if !ok {
				return nil, fmt.Errorf("command entry line %d: %s: want \"name value\"", lineNo, key)
			}
			f, perr := parseDecimal([]byte(v))
			if perr != nil {
				return nil, fmt.Errorf("command entry line %d: %s %s: %v", lineNo, key, name, perr)
			}
			if key == "input" {
				c.Inputs = append(c.Inputs, Input{name, f})
			} else {
				c.Indices = append(c.Indices, Input{name, f})
			}
		case "attempts":
			n, perr := strconv.Atoi(val)
			if perr != nil || n < 0 || strconv.Itoa(n) != val {
				return nil, fmt.Errorf("command entry line %d: attempts %q is not a count", lineNo, val)
			}
			c.Attempts = n
		case "time":
			t, perr := time.Parse(time.RFC3339Nano, val)
			if perr != nil {
				return nil, fmt.Errorf("command entry line %d: time: %w", lineNo, perr)
			}
			c.Time = t
		default:
			return nil, fmt.Errorf("command entry line %d: unknown field %q", lineNo, key)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
