// Package meter is the domain model of shuixiao: where water is metered and
// what is measured there. It has no I/O and no dependencies outside the
// standard library.
//
// The hierarchy follows the Hunan plan and the Chinese standards it cites:
//
//	region (GB/T 2260 administrative code: province, city)
//	  → industrial park
//	    → enterprise (industry by GB/T 4754-2017 code, products)
//	      → metering point (level 1/2/3 per GB/T 24789-2022, place in the water cycle)
//	        → meter (a device with its own signing key)
//
// A metering point carries channels; each channel declares its quantity, its
// unit and its kind (an instantaneous rate, a running total, or an interval
// total) because aggregation and consumption depend on it (WaterML 2.0's
// interpolationType, see reference/platform.md §4.3).
package meter

import (
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

// Region is an administrative division identified by its GB/T 2260 code.
type Region struct {
	Code   string `json:"code"`             // six digits, e.g. "430300" (湘潭市)
	Name   string `json:"name"`             // Chinese name
	NameEN string `json:"name_en"`          // English name
	Parent string `json:"parent,omitempty"` // province code for a city; empty for a province
}

// IsProvince reports whether the region code denotes a province-level division.
func (r Region) IsProvince() bool { return strings.HasSuffix(r.Code, "0000") }

// Park is an industrial park (工业园区).
type Park struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	Region string `json:"region"` // GB/T 2260 code of the city it lies in
	// Industries are the park's leading industries (GB/T 4754 codes).
	Industries []string `json:"industries,omitempty"`
	Lat        float64  `json:"lat,omitempty"`
	Lon        float64  `json:"lon,omitempty"`
}

// Enterprise is a water-using unit (用水单位).
type Enterprise struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	NameEN   string   `json:"name_en,omitempty"`
	Park     string   `json:"park,omitempty"` // park ID; empty outside parks
	Region   string   `json:"region"`         // GB/T 2260 code
	Industry string   `json:"industry"`       // GB/T 4754-2017 code, e.g. "3120"
	Products []string `json:"products,omitempty"`
	// AboveScale marks an above-scale industrial enterprise (规模以上工业企业:
	// annual main-business revenue of 20 million CNY or more, the National
	// Bureau of Statistics' line). The plan's reuse-rate target applies to
	// these only.
	AboveScale bool `json:"above_scale,omitempty"`
}

// Level is the metering level of GB/T 24789-2022: the whole unit (一级),
// secondary units such as workshops (二级), and major equipment (三级).
type Level int

// Metering levels.
const (
	Level1 Level = 1 // 一级计量: enterprise boundary
	Level2 Level = 2 // 二级计量: workshop / secondary unit
	Level3 Level = 3 // 三级计量: major water-using equipment
)

// Valid reports whether l is one of the three levels.
func (l Level) Valid() bool { return l >= Level1 && l <= Level3 }

// Chinese returns the level's Chinese label.
func (l Level) Chinese() string {
	switch l {
	case Level1:
		return "一级计量"
	case Level2:
		return "二级计量"
	case Level3:
		return "三级计量"
	}
	return "未知级别"
}

// Stage is a metering point's place in the water cycle.
type Stage string

// Water-cycle stages (reference/ledger.md §5 "process point").
const (
	StageIntake        Stage = "intake"        // 取水
	StageTreatment     Stage = "treatment"     // 水处理
	StageSupply        Stage = "supply"        // 供水
	StageUse           Stage = "use"           // 用水
	StageRecirculation Stage = "recirculation" // 循环水
	StageCascade       Stage = "cascade"       // 串联(梯级)回用
	StageDischarge     Stage = "discharge"     // 排水
)

// Stages lists every stage in water-cycle order.
var Stages = []Stage{StageIntake, StageTreatment, StageSupply, StageUse, StageRecirculation, StageCascade, StageDischarge}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool {
	for _, v := range Stages {
		if s == v {
			return true
		}
	}
	return false
}

// Source is the origin of intake water (取水水源).
type Source string

// Intake sources. Reclaimed, rain and mine water are non-conventional water
// (非常规水), counted by the plan's 非常规水源替代率 target.
const (
	SourceSurface   Source = "surface"   // 地表水
	SourceGround    Source = "ground"    // 地下水
	SourceMunicipal Source = "municipal" // 自来水 (城镇供水)
	SourceReclaimed Source = "reclaimed" // 再生水
	SourceRain      Source = "rain"      // 雨水
	SourceMine      Source = "mine"      // 矿井水
	SourceSteam     Source = "steam"     // 外购蒸汽
)

// Sources lists every intake source.
var Sources = []Source{SourceSurface, SourceGround, SourceMunicipal, SourceReclaimed, SourceRain, SourceMine, SourceSteam}

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	for _, v := range Sources {
		if s == v {
			return true
		}
	}
	return false
}

// NonConventional reports whether water from s counts as non-conventional.
func (s Source) NonConventional() bool {
	return s == SourceReclaimed || s == SourceRain || s == SourceMine
}

// Point is a metering point (计量点): a place where water is measured.
type Point struct {
	ID         string    `json:"id"`
	Enterprise string    `json:"enterprise"`
	Name       string    `json:"name"`
	NameEN     string    `json:"name_en,omitempty"`
	Level      Level     `json:"level"`
	Stage      Stage     `json:"stage"`
	Source     Source    `json:"source,omitempty"` // intake points only
	Parent     string    `json:"parent,omitempty"` // the point upstream in the metering tree
	Channels   []Channel `json:"channels"`
	// Optional balance fields (roles.go); points without them keep the
	// defaults of their stage.
	Purpose Purpose   `json:"purpose,omitempty"` // use units: what the water is for
	Reuse   ReuseKind `json:"reuse,omitempty"`   // recirculation/cascade points: kind of reuse
	From    string    `json:"from,omitempty"`    // cascade points: the point the water comes from
	Outflow Outflow   `json:"outflow,omitempty"` // discharge points: discharge or consumption
}

// Channel returns the point's channel with the given name.
func (p Point) Channel(name string) (Channel, bool) {
	for _, c := range p.Channels {
		if c.Name == name {
			return c, true
		}
	}
	return Channel{}, false
}

// Validate checks a point's internal consistency.
func (p Point) Validate() error {
	if err := reading.ValidID(p.ID); err != nil {
		return fmt.Errorf("point: %w", err)
	}
	if p.Enterprise == "" {
		return fmt.Errorf("point %s: no enterprise", p.ID)
	}
	if !p.Level.Valid() {
		return fmt.Errorf("point %s: level %d is not 1, 2 or 3", p.ID, p.Level)
	}
	if !p.Stage.Valid() {
		return fmt.Errorf("point %s: unknown stage %q", p.ID, p.Stage)
	}
	if p.Stage == StageIntake && !p.Source.Valid() {
		return fmt.Errorf("point %s: intake point needs a known source, got %q", p.ID, p.Source)
	}
	if p.Stage != StageIntake && p.Source != "" {
		return fmt.Errorf("point %s: only intake points have a source", p.ID)
	}
	if err := p.validateRoles(); err != nil {
		return err
	}
	if len(p.Channels) == 0 {
		return fmt.Errorf("point %s: no channels", p.ID)
	}
	seen := map[string]bool{}
	for _, c := range p.Channels {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("point %s: %w", p.ID, err)
		}
		if seen[c.Name] {
			return fmt.Errorf("point %s: duplicate channel %s", p.ID, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// SigningSite says where a meter's readings are signed, which is the trust
// level of its data: in the meter itself, or by the gateway that decodes a
// legacy protocol (HJ 212, SL 651, …) on its behalf.
type SigningSite string

// Signing sites.
const (
	SignedByMeter   SigningSite = "meter"
	SignedByGateway SigningSite = "gateway"
)

// Meter is a device that measures one metering point and signs its readings.
type Meter struct {
	ID     string      `json:"id"`
	Point  string      `json:"point"`
	Serial string      `json:"serial,omitempty"`
	Model  string      `json:"model,omitempty"`
	Key    string      `json:"key"` // C2SP note verifier key, name "meter/<ID>"; empty when Gateway signs
	Signed SigningSite `json:"signed"`
	// Gateway, for a meter signed by a gateway's own key, is that gateway:
	// only its key signs the meter's readings (reading.Via).
	Gateway string `json:"gateway,omitempty"`
	// Collector, if set, is the registered gateway (a data collector on
	// the meter's RS-485 bus) that may forward the meter's own signed
	// readings on its connection; it signs nothing.
	Collector string `json:"collector,omitempty"`
	// Revoked is set when the key was revoked; readings after it are rejected.
	Revoked    bool      `json:"revoked"`
	Registered time.Time `json:"registered"`
	// Interval is the nominal reporting interval; offline alarms use it.
	Interval time.Duration `json:"interval"`
}

// LedgerEntry returns the point's registration entry for the ledger
// (reading.PointEntry), dated t.
func (p Point) LedgerEntry(t time.Time) *reading.PointEntry {
	e := &reading.PointEntry{Point: p.ID, Enterprise: p.Enterprise, Name: p.Name, NameEN: p.NameEN, Level: int(p.Level),
		Stage: string(p.Stage), Source: string(p.Source), Parent: p.Parent, Purpose: string(p.Purpose), Reuse: string(p.Reuse),
		From: p.From, Outflow: string(p.Outflow), Time: t}
	for _, c := range p.Channels {
		e.Channels = append(e.Channels, reading.PointChannel{Name: c.Name, Kind: string(c.Kind), Rollover: c.Rollover,
			Min: c.Min, Max: c.Max, Unit: c.Unit, Quantity: c.Quantity})
	}
	return e
}

// PointOf returns the point a ledger entry registers, validated.
func PointOf(e *reading.PointEntry) (Point, error) {
	p := Point{ID: e.Point, Enterprise: e.Enterprise, Name: e.Name, NameEN: e.NameEN, Level: Level(e.Level), Stage: Stage(e.Stage),
		Source: Source(e.Source), Parent: e.Parent, Purpose: Purpose(e.Purpose), Reuse: ReuseKind(e.Reuse), From: e.From,
		Outflow: Outflow(e.Outflow)}
	for _, c := range e.Channels {
		p.Channels = append(p.Channels, Channel{Name: c.Name, Quantity: c.Quantity, Unit: c.Unit, Kind: Kind(c.Kind),
			Rollover: c.Rollover, Min: c.Min, Max: c.Max})
	}
	if err := p.Validate(); err != nil {
		return Point{}, err
	}
	return p, nil
}
