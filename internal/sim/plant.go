package sim

import (
	"fmt"
	"math"
	"sort"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// UnitKind is the role of a unit in a plant's water system.
type UnitKind string

// Unit kinds.
const (
	// UnitCooling is an open recirculating cooling system (tower, pumps and
	// heat exchangers): make-up M = evaporation E + blowdown B + drift D.
	UnitCooling UnitKind = "cooling"
	// UnitBoiler raises steam for steam users (who return condensate), or,
	// without users, is the closed steam cycle of a power unit.
	UnitBoiler UnitKind = "boiler"
	// UnitDemin treats the boiler's make-up water (softening or RO); its
	// reject goes to wastewater treatment.
	UnitDemin UnitKind = "demin"
	// UnitProcess is a production workshop: it takes water, consumes part of
	// it (evaporation, product-bound) and sends the rest to wastewater.
	UnitProcess UnitKind = "process"
	// UnitDomestic is offices, canteen and showers.
	UnitDomestic UnitKind = "domestic"
	// UnitWWTP is the wastewater treatment plant; its effluent is discharged
	// or fed to the reuse plant.
	UnitWWTP UnitKind = "wwtp"
	// UnitReuse is advanced treatment (UF/RO) producing reuse water for other
	// units (外排废水处理后回用); its concentrate is discharged.
	UnitReuse UnitKind = "reuse"
)

// UnitSpec is the design of one unit of a plant template. Demand, Steam and
// Recirculation are relative: Build scales them so that the plant meets its
// archetype's intake per unit product and reuse rate.
type UnitSpec struct {
	ID     string
	Name   string
	NameEN string
	Kind   UnitKind
	// Source is where the unit's fresh water comes from (cooling, demin,
	// process, domestic units); empty for the others.
	Source meter.Source
	// Demand is the water demand at design conditions: process and domestic
	// use, or a cooling system's make-up.
	Demand float64
	// Consumed is the share of a process or domestic unit's water that is
	// consumed (evaporated, bound in the product) instead of becoming wastewater.
	Consumed float64
	// Recirculation is a process unit's weight in the plant's process
	// recirculation (white water, rinse counter-flow, direct cooling loops).
	Recirculation float64
	// RangeC and Cycles are a cooling system's design temperature range Δt
	// (°C) and cycles of concentration N.
	RangeC, Cycles float64
	// PumpBase is the share of a cooling system's design circulation that
	// runs whatever the load (pumps staged or on variable speed above it);
	// zero means 0.7.
	PumpBase float64
	// BlowdownTo names the unit that takes a cooling system's blowdown as
	// cascade water (e.g. slag granulation, desulphurisation); empty sends it
	// to wastewater treatment.
	BlowdownTo string
	// ReuseAccept is the share of a unit's demand that reuse water may supply.
	ReuseAccept float64
	// SteamWeight is a process unit's share of the boiler's steam.
	SteamWeight float64
	// Steam is the boiler's design steam output (relative; 1 t ≈ 1 m³).
	Steam float64
	// Condensate is the share of the users' steam returned as condensate.
	Condensate float64
	// CycleLoss is, for a boiler without steam users, the loss of its closed
	// steam cycle as a share of steam.
	CycleLoss float64
	// Blowdown is the boiler blowdown as a share of steam.
	Blowdown float64
	// Recovery is the product share of a demin or reuse unit's feed.
	Recovery float64
	// ReuseShare is the share of the WWTP effluent the reuse plant may treat.
	ReuseShare float64
	// Loss is the WWTP's sludge and evaporation loss as a share of inflow.
	Loss float64
}

// WaterSystemSpec is a water system to build: a template's units, its archetype and the
// hidden background leakage of each fresh-water header.
type WaterSystemSpec struct {
	Archetype Archetype
	// Capacity is the design daily product output in Archetype.Unit.
	Capacity float64
	Units    []UnitSpec
	// LeakBackground is the hidden distribution loss per source header as a
	// share of the water the header supplies.
	LeakBackground map[meter.Source]float64
}

// StreamKind classifies a stream for the GB/T 12452 balance.
type StreamKind string

// Stream kinds.
const (
	StreamIntake        StreamKind = "intake"        // source → header (取水)
	StreamSupply        StreamKind = "supply"        // header → unit (供水)
	StreamLeak          StreamKind = "leak"          // header → lost (漏失)
	StreamRecirculation StreamKind = "recirculation" // unit → itself (循环水)
	StreamCascade       StreamKind = "cascade"       // unit → another unit (串联/回用)
	StreamSteam         StreamKind = "steam"         // boiler → steam user
	StreamCondensate    StreamKind = "condensate"    // steam user → boiler (冷凝水回用)
	StreamFeed          StreamKind = "feed"          // demin → boiler
	StreamWastewater    StreamKind = "wastewater"    // unit → WWTP
	StreamEffluent      StreamKind = "effluent"      // WWTP → reuse plant
	StreamConsumption   StreamKind = "consumption"   // unit → consumed (耗水)
	StreamDischarge     StreamKind = "discharge"     // unit → outside (排水)
)

// Reuse reports whether water in the stream counts as reused water Vr
// (重复利用水量: recirculated, cascaded, returned condensate).
func (k StreamKind) Reuse() bool {
	return k == StreamRecirculation || k == StreamCascade || k == StreamCondensate
}

// Nodes outside the units.
const (
	nodeConsumed  = "sink:consumed"
	nodeLeak      = "sink:leak"
	nodeDischarge = "sink:discharge"
)

// SourceNode and HeaderNode name a source and its distribution header.
func SourceNode(s meter.Source) string { return "source:" + string(s) }

// HeaderNode is the fresh-water distribution header of a source: between
// the level-1 intake meter and the level-2 supply meters.
func HeaderNode(s meter.Source) string { return "header:" + string(s) }

// Stream is a flow path of a plant, from one node to another.
type Stream struct {
	ID   string
	Kind StreamKind
	From string
	To   string
}

// Unit is a built unit: its spec scaled to the plant, and the indices of its
// streams in WaterSystem.Streams (-1 where absent).
type Unit struct {
	UnitSpec
	// Circulation is a cooling system's design circulating flow or a
	// process unit's design recirculation, m³/h at production 1.
	Circulation float64

	supply, consumption, wastewater, recirculation, feed, cascadeOut, discharge int
	steamIn, condensateOut                                                      int
	reuseIn                                                                     int
	blowdownTarget                                                              int // unit index, -1 if none
}

// Conditions are the inputs of the water model at one instant.
type Conditions struct {
	// Production is the relative production rate (1 = design capacity).
	Production float64
	// AirC is the air temperature, °C; it sets cooling-tower evaporation.
	AirC float64
	// Office is the relative occupancy that drives domestic use (1 = a working day).
	Office float64
	// Leak adds a hidden leak on a source's header, as a share of the
	// water the header supplies (on top of the background leakage).
	Leak map[meter.Source]float64
}

// WaterSystem is a built water system: units, streams and their design flows.
// It is immutable; Flows evaluates it at given conditions.
type WaterSystem struct {
	Archetype Archetype
	Capacity  float64
	Units     []Unit
	Streams   []Stream
	// Sources lists the plant's intake sources in a stable order.
	Sources []meter.Source
	// LeakBackground is the background leak share per source header.
	LeakBackground map[meter.Source]float64

	params           Parameters
	intake, leak     map[meter.Source]int // stream index per source
	boiler, demin    int                  // unit index or -1
	wwtp, reuse      int
	designConditions Conditions
	designIntakeM3h  float64
	designFlows      []float64
}

// Build builds, scales and calibrates a plant: all flows are scaled so that
// the design intake equals Capacity × IntakePerUnit per day, and the process
// recirculation is sized so that the design reuse rate equals the
// archetype's ReuseRate.
func Build(spec WaterSystemSpec, params Parameters) (*WaterSystem, error) {
	a := spec.Archetype
	if spec.Capacity <= 0 {
		return nil, fmt.Errorf("plant %s: capacity %v", a.Key, spec.Capacity)
	}
	p := &WaterSystem{Archetype: a, Capacity: spec.Capacity, params: params,
		intake: map[meter.Source]int{}, leak: map[meter.Source]int{},
		boiler: -1, demin: -1, wwtp: -1, reuse: -1, LeakBackground: map[meter.Source]float64{}}
	p.designConditions = Conditions{Production: 1, AirC: params.DesignAirC, Office: 1}
	if err := p.layout(spec); err != nil {
		return nil, err
	}
	for s, v := range spec.LeakBackground {
		p.LeakBackground[s] = v
	}
	// A cooling system is specified by its make-up at design conditions;
	// its circulating flow follows from M = E·N/(N−1) with E = k·Δt·Qr.
	kd := params.EvaporationK(params.DesignAirC)
	for i := range p.Units {
		u := &p.Units[i]
		if u.Kind == UnitCooling {
			u.Circulation = u.Demand / (kd * u.RangeC * u.Cycles / (u.Cycles - 1))
		}
	}
	// Scale: every flow is homogeneous of degree one in the relative
	// quantities, so one evaluation at scale 1 gives the factor.
	f := p.Flows(p.designConditions)
	vi := p.sumKind(f, StreamIntake)
	if vi <= 0 {
		return nil, fmt.Errorf("plant %s: no intake at design conditions", a.Key)
	}
	target := spec.Capacity * a.IntakePerUnit / 24
	x := target / vi
	for i := range p.Units {
		u := &p.Units[i]
		u.Demand *= x
		u.Steam *= x
		u.Circulation *= x
	}
	// Recirculation: what the cooling loops, condensate and cascades already
	// reuse is fixed by the design; process loops make up the rest of
	// Vr = R/(1-R)·Vi.
	f = p.Flows(p.designConditions)
	vi = p.sumKind(f, StreamIntake)
	fixed := 0.0
	for i, s := range p.Streams {
		if s.Kind.Reuse() {
			fixed += f[i]
		}
	}
	want := a.ReuseRate / (1 - a.ReuseRate) * vi
	weights := 0.0
	for _, u := range p.Units {
		if u.Kind == UnitProcess {
			weights += u.Recirculation
		}
	}
	rest := want - fixed
	switch {
	case rest < -1e-9*want:
		return nil, fmt.Errorf("plant %s: cooling, condensate and cascades already reuse %.0f m³/h, more than the %.0f m³/h of a %.1f %% reuse rate", a.Key, fixed, want, 100*a.ReuseRate)
	case weights == 0 && rest > 1e-6*want:
		return nil, fmt.Errorf("plant %s: %.0f m³/h of recirculation needed but no process unit recirculates", a.Key, rest)
	}
	for i := range p.Units {
		u := &p.Units[i]
		if u.Kind == UnitProcess && u.Recirculation > 0 {
			u.Circulation = math.Max(rest, 0) * u.Recirculation / weights
		}
	}
	p.designFlows = p.Flows(p.designConditions)
	p.designIntakeM3h = p.sumKind(p.designFlows, StreamIntake)
	return p, nil
}

func (p *WaterSystem) unitIndex(id string) int {
	for i := range p.Units {
		if p.Units[i].ID == id {
			return i
		}
	}
	return -1
}

func (p *WaterSystem) addStream(kind StreamKind, from, to string) int {
	id := string(kind) + "/" + from + ">" + to
	p.Streams = append(p.Streams, Stream{ID: id, Kind: kind, From: from, To: to})
	return len(p.Streams) - 1
}

// layout validates the units and creates the streams between them.
func (p *WaterSystem) layout(spec WaterSystemSpec) error {
	key := spec.Archetype.Key
	seen := map[string]bool{}
	for _, us := range spec.Units {
		if err := reading.ValidID(us.ID); err != nil {
			return fmt.Errorf("plant %s: unit: %w", key, err)
		}
		if seen[us.ID] {
			return fmt.Errorf("plant %s: duplicate unit %s", key, us.ID)
		}
		seen[us.ID] = true
		u := Unit{UnitSpec: us, supply: -1, consumption: -1, wastewater: -1, recirculation: -1, feed: -1,
			cascadeOut: -1, discharge: -1, steamIn: -1, condensateOut: -1, reuseIn: -1, blowdownTarget: -1}
		single := func(idx *int) error {
			if *idx >= 0 {
				return fmt.Errorf("plant %s: more than one %s unit", key, us.Kind)
			}
			*idx = len(p.Units)
			return nil
		}
		var err error
		switch us.Kind {
		case UnitCooling:
			if us.RangeC <= 0 || us.Cycles <= 1 || us.Demand <= 0 {
				err = fmt.Errorf("plant %s: cooling %s needs range > 0, cycles > 1 and make-up > 0", key, us.ID)
			}
		case UnitProcess, UnitDomestic:
			if us.Demand <= 0 || us.Consumed < 0 || us.Consumed > 1 {
				err = fmt.Errorf("plant %s: unit %s needs demand > 0 and 0 ≤ consumed ≤ 1", key, us.ID)
			}
		case UnitBoiler:
			err = single(&p.boiler)
			if err == nil && (us.Steam <= 0 || us.Blowdown < 0 || us.Condensate < 0 || us.Condensate > 1) {
				err = fmt.Errorf("plant %s: boiler %s: bad steam, blowdown or condensate", key, us.ID)
			}
		case UnitDemin:
			err = single(&p.demin)
			if err == nil && (us.Recovery <= 0 || us.Recovery > 1) {
				err = fmt.Errorf("plant %s: demin %s: recovery %v", key, us.ID, us.Recovery)
			}
		case UnitWWTP:
			err = single(&p.wwtp)
		case UnitReuse:
			err = single(&p.reuse)
			if err == nil && (us.Recovery <= 0 || us.Recovery > 1) {
				err = fmt.Errorf("plant %s: reuse %s: recovery %v", key, us.ID, us.Recovery)
			}
		default:
			err = fmt.Errorf("plant %s: unit %s: unknown kind %q", key, us.ID, us.Kind)
		}
		if err != nil {
			return err
		}
		needsSource := us.Kind == UnitCooling || us.Kind == UnitProcess || us.Kind == UnitDomestic || us.Kind == UnitDemin
		if needsSource != (us.Source != "") || (needsSource && !us.Source.Valid()) {
			return fmt.Errorf("plant %s: unit %s (%s): source %q", key, us.ID, us.Kind, us.Source)
		}
		p.Units = append(p.Units, u)
	}
	if p.wwtp < 0 {
		return fmt.Errorf("plant %s: no wastewater treatment unit", key)
	}
	if (p.boiler >= 0) != (p.demin >= 0) {
		return fmt.Errorf("plant %s: a boiler needs a demin unit and vice versa", key)
	}
	wwtp := p.Units[p.wwtp].ID
	// Sources and their headers, in the order units first use them.
	for _, u := range p.Units {
		if u.Source == "" || p.hasSource(u.Source) {
			continue
		}
		p.Sources = append(p.Sources, u.Source)
		p.intake[u.Source] = p.addStream(StreamIntake, SourceNode(u.Source), HeaderNode(u.Source))
		p.leak[u.Source] = p.addStream(StreamLeak, HeaderNode(u.Source), nodeLeak)
	}
	steamUsers := 0
	for i := range p.Units {
		u := &p.Units[i]
		if u.Source != "" {
			u.supply = p.addStream(StreamSupply, HeaderNode(u.Source), u.ID)
		}
		switch u.Kind {
		case UnitCooling:
			u.recirculation = p.addStream(StreamRecirculation, u.ID, u.ID)
			u.consumption = p.addStream(StreamConsumption, u.ID, nodeConsumed)
			u.wastewater = p.addStream(StreamWastewater, u.ID, wwtp)
			if u.BlowdownTo != "" {
				t := p.unitIndex(u.BlowdownTo)
				if t < 0 || p.Units[t].Kind != UnitProcess {
					return fmt.Errorf("plant %s: cooling %s: blowdown target %q is not a process unit", key, u.ID, u.BlowdownTo)
				}
				u.blowdownTarget = t
				u.cascadeOut = p.addStream(StreamCascade, u.ID, u.BlowdownTo)
			}
		case UnitProcess, UnitDomestic:
			u.consumption = p.addStream(StreamConsumption, u.ID, nodeConsumed)
			u.wastewater = p.addStream(StreamWastewater, u.ID, wwtp)
			if u.Kind == UnitProcess && u.Recirculation > 0 {
				u.recirculation = p.addStream(StreamRecirculation, u.ID, u.ID)
			}
			if u.SteamWeight > 0 {
				if p.boiler < 0 {
					return fmt.Errorf("plant %s: %s uses steam but there is no boiler", key, u.ID)
				}
				steamUsers++
				u.steamIn = p.addStream(StreamSteam, p.Units[p.boiler].ID, u.ID)
				u.condensateOut = p.addStream(StreamCondensate, u.ID, p.Units[p.boiler].ID)
			}
		case UnitBoiler:
			u.wastewater = p.addStream(StreamWastewater, u.ID, wwtp)
			u.consumption = p.addStream(StreamConsumption, u.ID, nodeConsumed)
		case UnitDemin:
			u.wastewater = p.addStream(StreamWastewater, u.ID, wwtp)
		case UnitWWTP:
			u.consumption = p.addStream(StreamConsumption, u.ID, nodeConsumed)
			u.discharge = p.addStream(StreamDischarge, u.ID, nodeDischarge)
		case UnitReuse:
			u.discharge = p.addStream(StreamDischarge, u.ID, nodeDischarge)
		}
	}
	if p.boiler >= 0 {
		b := &p.Units[p.boiler]
		b.feed = p.addStream(StreamFeed, p.Units[p.demin].ID, b.ID)
		if steamUsers == 0 && b.CycleLoss <= 0 {
			return fmt.Errorf("plant %s: boiler %s has no steam users and no cycle loss", key, b.ID)
		}
	}
	if p.reuse >= 0 {
		r := &p.Units[p.reuse]
		r.feed = p.addStream(StreamEffluent, wwtp, r.ID)
		receivers := 0
		for i := range p.Units {
			u := &p.Units[i]
			if u.ReuseAccept > 0 {
				if u.Kind != UnitCooling && u.Kind != UnitProcess {
					return fmt.Errorf("plant %s: %s (%s) cannot take reuse water", key, u.ID, u.Kind)
				}
				u.reuseIn = p.addStream(StreamCascade, r.ID, u.ID)
				receivers++
			}
		}
		if receivers == 0 {
			return fmt.Errorf("plant %s: reuse plant without receivers", key)
		}
	}
	return nil
}

func (p *WaterSystem) hasSource(s meter.Source) bool {
	for _, v := range p.Sources {
		if v == s {
			return true
		}
	}
	return false
}

// Flows returns the flow of every stream (m³/h, aligned with Streams) at
// the given conditions. Each unit's inflows equal its outflows.
func (p *WaterSystem) Flows(c Conditions) []float64 {
	f := make([]float64, len(p.Streams))
	p.FlowsInto(f, c)
	return f
}

// FlowsInto is Flows writing into f, which must have len(Streams).
func (p *WaterSystem) FlowsInto(f []float64, c Conditions) {
	for i := range f {
		f[i] = 0
	}
	prod := math.Max(c.Production, 0)
	office := math.Max(c.Office, 0)
	k := p.params.EvaporationK(c.AirC)
	n := len(p.Units)
	var demandBuf, cascadeBuf [32]float64
	demand, cascadeIn := demandBuf[:0], cascadeBuf[:0]
	if n > len(demandBuf) {
		demand, cascadeIn = make([]float64, 0, n), make([]float64, 0, n)
	}
	demand, cascadeIn = demand[:n], cascadeIn[:n]
	for i := range demand {
		demand[i], cascadeIn[i] = 0, 0
	}
	// Process and domestic demand, process recirculation.
	for i := range p.Units {
		u := &p.Units[i]
		switch u.Kind {
		case UnitProcess:
			demand[i] = u.Demand * prod
			f[u.consumption] += u.Consumed * demand[i]
			f[u.wastewater] = (1 - u.Consumed) * demand[i]
			if u.recirculation >= 0 {
				f[u.recirculation] = u.Circulation * prod
			}
		case UnitDomestic:
			demand[i] = u.Demand * office
			f[u.consumption] = u.Consumed * demand[i]
			f[u.wastewater] = (1 - u.Consumed) * demand[i]
		}
	}
	// Steam: the boiler follows production; users return condensate.
	if p.boiler >= 0 {
		b := &p.Units[p.boiler]
		steam := b.Steam * prod
		weights := 0.0
		for _, u := range p.Units {
			weights += u.SteamWeight
		}
		condensate := 0.0
		for i := range p.Units {
			u := &p.Units[i]
			if u.steamIn < 0 {
				continue
			}
			s := steam * u.SteamWeight / weights
			f[u.steamIn] = s
			f[u.condensateOut] = b.Condensate * s
			f[u.consumption] += (1 - b.Condensate) * s
			condensate += b.Condensate * s
		}
		blowdown := b.Blowdown * steam
		f[b.wastewater] = blowdown
		var feed float64
		if weights > 0 {
			feed = steam + blowdown - condensate
		} else {
			// A closed steam cycle (turbine and condenser inside the unit)
			// only needs make-up for its losses.
			f[b.consumption] = b.CycleLoss * steam
			feed = f[b.consumption] + blowdown
		}
		f[b.feed] = feed
		d := &p.Units[p.demin]
		demand[p.demin] = feed / d.Recovery
		f[d.wastewater] = demand[p.demin] - feed
	}
	// Cooling: Qe = k·Δt·Qr (GB/T 50050); the pumps run near design flow
	// while the heat load, hence Δt, follows production.
	for i := range p.Units {
		u := &p.Units[i]
		if u.Kind != UnitCooling {
			continue
		}
		base := u.PumpBase
		if base == 0 {
			base = 0.7
		}
		circ := u.Circulation * (base + (1-base)*prod)
		evap := k * u.RangeC * prod * u.Circulation
		drift := p.params.DriftFraction * circ
		blowdown := math.Max(evap/(u.Cycles-1)-drift, 0)
		demand[i] = evap + blowdown + drift
		f[u.recirculation] = circ
		f[u.consumption] = evap + drift
		toWWTP := blowdown
		if u.blowdownTarget >= 0 {
			t := u.blowdownTarget
			cas := math.Min(blowdown, math.Max(demand[t]-cascadeIn[t], 0))
			cascadeIn[t] += cas
			f[u.cascadeOut] = cas
			toWWTP -= cas
		}
		f[u.wastewater] = toWWTP
	}
	// Wastewater treatment and reuse: the reuse plant runs to what its
	// receivers can take.
	w := &p.Units[p.wwtp]
	inflow := 0.0
	for i, s := range p.Streams {
		if s.To == w.ID {
			inflow += f[i]
		}
	}
	f[w.consumption] = w.Loss * inflow
	effluent := inflow - f[w.consumption]
	toReuse := 0.0
	if p.reuse >= 0 {
		r := &p.Units[p.reuse]
		accept := 0.0
		for i := range p.Units {
			if p.Units[i].reuseIn >= 0 {
				accept += p.Units[i].ReuseAccept * math.Max(demand[i]-cascadeIn[i], 0)
			}
		}
		toReuse = math.Min(w.ReuseShare*effluent, accept/r.Recovery)
		product := r.Recovery * toReuse
		if accept > 0 {
			for i := range p.Units {
				u := &p.Units[i]
				if u.reuseIn < 0 {
					continue
				}
				share := product * u.ReuseAccept * math.Max(demand[i]-cascadeIn[i], 0) / accept
				f[u.reuseIn] = share
				cascadeIn[i] += share
			}
		}
		f[r.feed] = toReuse
		f[r.discharge] = toReuse - product
	}
	f[w.discharge] = effluent - toReuse
	// Fresh water: what cascades do not cover, through the headers.
	for i := range p.Units {
		u := &p.Units[i]
		if u.supply >= 0 {
			f[u.supply] = math.Max(demand[i]-cascadeIn[i], 0)
		}
	}
	for _, s := range p.Sources {
		supplied := 0.0
		h := HeaderNode(s)
		for i, st := range p.Streams {
			if st.Kind == StreamSupply && st.From == h {
				supplied += f[i]
			}
		}
		leak := (p.LeakBackground[s] + c.Leak[s]) * supplied
		f[p.leak[s]] = leak
		f[p.intake[s]] = supplied + leak
	}
}

func (p *WaterSystem) sumKind(f []float64, k StreamKind) float64 {
	t := 0.0
	for i, s := range p.Streams {
		if s.Kind == k {
			t += f[i]
		}
	}
	return t
}

// DesignIntake is the plant's fresh-water intake at design conditions, m³/h.
func (p *WaterSystem) DesignIntake() float64 { return p.designIntakeM3h }

// DesignFlows returns the stream flows at design conditions (production 1,
// design air temperature, a working day's occupancy), m³/h.
func (p *WaterSystem) DesignFlows() []float64 { return append([]float64(nil), p.designFlows...) }

// Balance holds the GB/T 12452-2022 water-balance quantities of a plant over
// a period (volumes, m³) or at an instant (flows, m³/h).
type Balance struct {
	Intake      float64 // Vi 取水量
	Reuse       float64 // Vr 重复利用水量
	Consumption float64 // Vco 耗水量
	Discharge   float64 // Vd 排水量
	Leakage     float64 // Vl 漏失水量
}

// Total is the total use Vt = Vi + Vr.
func (b Balance) Total() float64 { return b.Intake + b.Reuse }

// ReuseRate is R = Vr / (Vr + Vi).
func (b Balance) ReuseRate() float64 {
	if b.Total() == 0 {
		return 0
	}
	return b.Reuse / b.Total()
}

// Error is the relative balance error e = (Vi − Vco − Vd − Vl) / Vi.
func (b Balance) Error() float64 {
	if b.Intake == 0 {
		return 0
	}
	return (b.Intake - b.Consumption - b.Discharge - b.Leakage) / b.Intake
}

// BalanceOf sums stream flows or volumes (aligned with Streams) into the
// enterprise balance.
func (p *WaterSystem) BalanceOf(v []float64) Balance {
	var b Balance
	for i, s := range p.Streams {
		switch {
		case s.Kind == StreamIntake:
			b.Intake += v[i]
		case s.Kind.Reuse():
			b.Reuse += v[i]
		case s.Kind == StreamConsumption:
			b.Consumption += v[i]
		case s.Kind == StreamDischarge:
			b.Discharge += v[i]
		case s.Kind == StreamLeak:
			b.Leakage += v[i]
		}
	}
	return b
}

// NodeImbalance returns, for every node that is neither a source nor a sink,
// Σ inflow − Σ outflow of the given flows or volumes. Self-loops count on
// both sides. A closed balance gives zeros.
func (p *WaterSystem) NodeImbalance(v []float64) map[string]float64 {
	out := map[string]float64{}
	for i, s := range p.Streams {
		out[s.To] += v[i]
		out[s.From] -= v[i]
	}
	for node := range out {
		if isTerminal(node) {
			delete(out, node)
		}
	}
	return out
}

func isTerminal(node string) bool {
	return node == nodeConsumed || node == nodeLeak || node == nodeDischarge || len(node) > 7 && node[:7] == "source:"
}

// Nodes lists the plant's internal nodes (headers and units) in a stable order.
func (p *WaterSystem) Nodes() []string {
	set := map[string]bool{}
	for _, s := range p.Streams {
		for _, n := range []string{s.From, s.To} {
			if !isTerminal(n) {
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
