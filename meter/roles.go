package meter

import (
	"fmt"

	"github.com/shuixiao/shuixiao/reading"
)

// Purpose is what a use unit's water is for. The rates of GB/T 12452 and
// GB/T 7119 are per purpose: the indirect-cooling recirculation rate counts
// only cooling water, the condensate reuse rate only boiler water
// (reference/standards.md §1.4). A point without a purpose inherits the
// purpose of the nearest point above it in the metering tree.
type Purpose string

// Purposes of use units.
const (
	PurposeIndirectCooling Purpose = "indirect_cooling" // 间接冷却水
	PurposeDirectCooling   Purpose = "direct_cooling"   // 直接冷却水
	PurposeProcess         Purpose = "process"          // 工艺水
	PurposeBoiler          Purpose = "boiler"           // 锅炉用水 (steam raising)
	PurposeDomestic        Purpose = "domestic"         // 生活用水
)

// Purposes lists every purpose.
var Purposes = []Purpose{PurposeIndirectCooling, PurposeDirectCooling, PurposeProcess, PurposeBoiler, PurposeDomestic}

// Valid reports whether u is a known purpose.
func (u Purpose) Valid() bool { return oneOf(u, Purposes) }

// ReuseKind says what kind of reused water a recirculation or cascade point
// measures. Recirculated water returns to the unit it left; cascaded
// (series) water goes on to another unit, and wastewater reuse and steam
// condensate return are cascades the indicators count separately.
type ReuseKind string

// Reuse kinds.
const (
	ReuseRecirculated ReuseKind = "recirculated" // 循环水 (stage recirculation)
	ReuseCascaded     ReuseKind = "cascaded"     // 串联水 (stage cascade)
	ReuseWastewater   ReuseKind = "wastewater"   // 外排废水处理后回用 Vw (stage cascade)
	ReuseCondensate   ReuseKind = "condensate"   // 蒸汽冷凝水回用 Vbr (stage cascade)
)

// ReuseKinds lists every reuse kind.
var ReuseKinds = []ReuseKind{ReuseRecirculated, ReuseCascaded, ReuseWastewater, ReuseCondensate}

// Valid reports whether k is a known reuse kind.
func (k ReuseKind) Valid() bool { return oneOf(k, ReuseKinds) }

// Outflow says where the water measured at a discharge-stage point goes:
// out of the boundary or to a drain (discharge), or into the air and the
// product (consumption, Vco — measured or estimated by the balance test,
// e.g. a cooling tower's evaporation).
type Outflow string

// Outflows.
const (
	OutflowDischarge   Outflow = "discharge"   // 排水
	OutflowConsumption Outflow = "consumption" // 耗水
)

// Outflows lists every outflow.
var Outflows = []Outflow{OutflowDischarge, OutflowConsumption}

// Valid reports whether o is a known outflow.
func (o Outflow) Valid() bool { return oneOf(o, Outflows) }

func oneOf[T comparable](v T, list []T) bool {
	for _, w := range list {
		if v == w {
			return true
		}
	}
	return false
}

// ReuseKindOf returns the point's reuse kind: its own, else the default of
// its stage (recirculated or cascaded); empty for other stages.
func (p Point) ReuseKindOf() ReuseKind {
	if p.Reuse != "" {
		return p.Reuse
	}
	switch p.Stage {
	case StageRecirculation:
		return ReuseRecirculated
	case StageCascade:
		return ReuseCascaded
	}
	return ""
}

// OutflowOf returns the point's outflow: its own, else discharge for a
// discharge-stage point; empty for other stages.
func (p Point) OutflowOf() Outflow {
	if p.Stage != StageDischarge {
		return ""
	}
	if p.Outflow != "" {
		return p.Outflow
	}
	return OutflowDischarge
}

// validateRoles checks the optional balance fields (purpose, reuse kind,
// cascade origin, outflow). Points without them are valid: they predate
// the fields and keep the defaults of their stage.
func (p Point) validateRoles() error {
	if p.Purpose != "" {
		if !p.Purpose.Valid() {
			return fmt.Errorf("point %s: unknown purpose %q", p.ID, p.Purpose)
		}
		if p.Stage == StageIntake || p.Stage == StageDischarge {
			return fmt.Errorf("point %s: a %s point has no purpose", p.ID, p.Stage)
		}
	}
	if p.Reuse != "" {
		if !p.Reuse.Valid() {
			return fmt.Errorf("point %s: unknown reuse kind %q", p.ID, p.Reuse)
		}
		recirc := p.Reuse == ReuseRecirculated
		if p.Stage == StageRecirculation && !recirc || p.Stage == StageCascade && recirc ||
			p.Stage != StageRecirculation && p.Stage != StageCascade {
			return fmt.Errorf("point %s: reuse kind %q does not fit stage %q", p.ID, p.Reuse, p.Stage)
		}
	}
	if p.From != "" {
		if p.Stage != StageCascade {
			return fmt.Errorf("point %s: only cascade points name where their water comes from", p.ID)
		}
		if err := reading.ValidID(p.From); err != nil {
			return fmt.Errorf("point %s: from: %w", p.ID, err)
		}
		if p.From == p.ID {
			return fmt.Errorf("point %s: from names the point itself", p.ID)
		}
	}
	if p.Outflow != "" {
		if !p.Outflow.Valid() {
			return fmt.Errorf("point %s: unknown outflow %q", p.ID, p.Outflow)
		}
		if p.Stage != StageDischarge {
			return fmt.Errorf("point %s: only discharge points have an outflow", p.ID)
		}
	}
	return nil
}
