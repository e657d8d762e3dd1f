package store

import (
	"encoding/json"
	"fmt"
	"math"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reading"
)

// The record rules every driver applies before it writes a registry record;
// the references (an enterprise's park, a point's enterprise …) are the
// driver's to check in its transaction. Errors wrap ErrInvalid.

// ValidRegion checks a region's code, name and parent code.
func ValidRegion(r meter.Region) error {
	if err := meter.ValidRegionCode(r.Code); err != nil {
		return fmt.Errorf("region %s: %w: %v", r.Code, ErrInvalid, err)
	}
	if r.Name == "" {
		return fmt.Errorf("region %s: %w: no name", r.Code, ErrInvalid)
	}
	if r.Parent != "" {
		if err := meter.ValidRegionCode(r.Parent); err != nil {
			return fmt.Errorf("region %s: %w: parent: %v", r.Code, ErrInvalid, err)
		}
	}
	return nil
}

// ValidPark checks a park's ID, name and region.
func ValidPark(p meter.Park) error {
	if err := reading.ValidID(p.ID); err != nil {
		return fmt.Errorf("park: %w: %v", ErrInvalid, err)
	}
	if p.Name == "" {
		return fmt.Errorf("park %s: %w: no name", p.ID, ErrInvalid)
	}
	if err := meter.ValidRegionCode(p.Region); err != nil {
		return fmt.Errorf("park %s: %w: %v", p.ID, ErrInvalid, err)
	}
	return nil
}

// ValidEnterprise checks an enterprise's ID, name and region.
func ValidEnterprise(e meter.Enterprise) error {
	if err := reading.ValidID(e.ID); err != nil {
		return fmt.Errorf("enterprise: %w: %v", ErrInvalid, err)
	}
	if e.Name == "" {
		return fmt.Errorf("enterprise %s: %w: no name", e.ID, ErrInvalid)
	}
	if err := meter.ValidRegionCode(e.Region); err != nil {
		return fmt.Errorf("enterprise %s: %w: %v", e.ID, ErrInvalid, err)
	}
	return nil
}

// ValidPoint checks a point by meter.Point.Validate.
func ValidPoint(p meter.Point) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// ValidMeter checks a meter's ID, its key (a note verifier named for the
// meter) or, for a meter whose readings a protocol gateway signs, that
// gateway's ID and no key of its own, where it signs and its interval.
func ValidMeter(m meter.Meter) error {
	if err := reading.ValidID(m.ID); err != nil {
		return fmt.Errorf("meter %s: %w: %v", m.ID, ErrInvalid, err)
	}
	if m.Gateway != "" {
		if err := reading.ValidID(m.Gateway); err != nil {
			return fmt.Errorf("meter %s: %w: gateway: %v", m.ID, ErrInvalid, err)
		}
		if m.Key != "" || m.Signed != meter.SignedByGateway {
			return fmt.Errorf("meter %s: %w: a meter signed by gateway %s is signed %q and has no key", m.ID, ErrInvalid, m.Gateway, meter.SignedByGateway)
		}
	} else {
		v, err := note.NewVerifier(m.Key)
		if err != nil {
			return fmt.Errorf("meter %s: %w: key: %v", m.ID, ErrInvalid, err)
		}
		if v.Name() != reading.KeyName(m.ID) {
			return fmt.Errorf("meter %s: %w: key name %q, want %q", m.ID, ErrInvalid, v.Name(), reading.KeyName(m.ID))
		}
	}
	if m.Signed != meter.SignedByMeter && m.Signed != meter.SignedByGateway {
		return fmt.Errorf("meter %s: %w: signed must be %q or %q", m.ID, ErrInvalid, meter.SignedByMeter, meter.SignedByGateway)
	}
	if m.Interval < 0 {
		return fmt.Errorf("meter %s: %w: negative interval", m.ID, ErrInvalid)
	}
	return nil
}

// ValidGateway checks a protocol gateway's ID, its key (a note verifier
// named for the gateway) and its enterprise, if any.
func ValidGateway(g meter.Gateway) error {
	if err := reading.ValidID(g.ID); err != nil {
		return fmt.Errorf("gateway %s: %w: %v", g.ID, ErrInvalid, err)
	}
	v, err := note.NewVerifier(g.Key)
	if err != nil {
		return fmt.Errorf("gateway %s: %w: key: %v", g.ID, ErrInvalid, err)
	}
	if v.Name() != reading.GatewayKeyName(g.ID) {
		return fmt.Errorf("gateway %s: %w: key name %q, want %q", g.ID, ErrInvalid, v.Name(), reading.GatewayKeyName(g.ID))
	}
	if g.Enterprise != "" {
		if err := reading.ValidID(g.Enterprise); err != nil {
			return fmt.Errorf("gateway %s: %w: enterprise: %v", g.ID, ErrInvalid, err)
		}
	}
	return nil
}

// RegionPrefix turns a GB/T 2260 code into a SQL LIKE pattern: a province
// code matches its two-digit prefix, a city code its four-digit prefix, any
// other code itself.
func RegionPrefix(code string) string {
	switch {
	case len(code) == 6 && code[2:] == "0000":
		return code[:2] + "%"
	case len(code) == 6 && code[4:] == "00":
		return code[:4] + "%"
	}
	return code
}

// ValidPlant checks a plant record: ID, enterprise and a JSON configuration.
func ValidPlant(p plant.Record) error {
	if p.ID == "" || p.Enterprise == "" || !json.Valid(p.Config) {
		return fmt.Errorf("plant %q: %w: id, enterprise and a JSON configuration are required", p.ID, ErrInvalid)
	}
	return nil
}

// ValidCommand checks a command record has what its row is keyed and
// listed by: ID, plant, actuator, kind and issue time.
func ValidCommand(c command.Record) error {
	if c.ID == "" || c.Plant == "" || c.Actuator == "" || c.Kind == "" || c.Issued.IsZero() {
		return fmt.Errorf("command %q: %w: id, plant, actuator, kind and issue time are required", c.ID, ErrInvalid)
	}
	return nil
}

// ValidOverride checks an operator's override: a known mode, a plant and an
// actuator.
func ValidOverride(o command.Override) error {
	switch o.Mode {
	case command.ModeAuto, command.ModeManual, command.ModeLocked:
	default:
		return fmt.Errorf("override of %s/%s: %w: mode %q", o.Plant, o.Actuator, ErrInvalid, o.Mode)
	}
	if o.Plant == "" || o.Actuator == "" {
		return fmt.Errorf("override: %w: plant and actuator are required", ErrInvalid)
	}
	return nil
}

// ValidAssignee checks a work order's assignee: 1–200 bytes.
func ValidAssignee(id int64, assignee string) error {
	if assignee == "" || len(assignee) > 200 {
		return fmt.Errorf("assign work order %d: %w: assignee must have 1-200 bytes", id, ErrInvalid)
	}
	return nil
}

// ValidWaterLost checks the water a closed work order says was lost: a
// finite volume, not negative.
func ValidWaterLost(id int64, m3 float64) error {
	if m3 < 0 || math.IsNaN(m3) || math.IsInf(m3, 0) {
		return fmt.Errorf("close work order %d: %w: water lost %v", id, ErrInvalid, m3)
	}
	return nil
}
