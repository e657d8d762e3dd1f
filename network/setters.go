package network

import (
	"fmt"
	"math"
)

// Run-time changes to a solver's model, in the file's units. They take
// effect at the next SolveStep, Resolve, Snapshot or Run without
// re-reading the file or redoing the symbolic factorisation; the Network
// the solver was made from is left untouched.

func checkValue(what string, v float64, allowNegative bool) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("network: %s must be a finite number, got %v", what, v)
	}
	if !allowNegative && v < 0 {
		return fmt.Errorf("network: %s must not be negative, got %v", what, v)
	}
	return nil
}

func (s *Solver) checkJunction(i int) error {
	if i < 0 || i >= s.nJunc {
		return fmt.Errorf("network: node index %d is not a junction (0..%d)", i, s.nJunc-1)
	}
	return nil
}

func (s *Solver) checkPipe(k int) error {
	if k < 0 || k >= s.nLinks || !s.kind[k].IsPipe() {
		return fmt.Errorf("network: link index %d is not a pipe", k)
	}
	return nil
}

// DemandCategories returns the number of demand categories of junction i.
func (s *Solver) DemandCategories(i int) int {
	if i < 0 || i >= s.nJunc {
		return 0
	}
	return int(s.demandStart[i+1] - s.demandStart[i])
}

// demandSlot returns the position of category c of junction i.
func (s *Solver) demandSlot(i, c int) (int, error) {
	if err := s.checkJunction(i); err != nil {
		return 0, err
	}
	if c < 0 || c >= s.DemandCategories(i) {
		return 0, fmt.Errorf("network: junction %s has no demand category %d", s.net.Nodes[i].ID, c)
	}
	return int(s.demandStart[i]) + c, nil
}

// JunctionDemand returns the base demand of category c of junction i.
func (s *Solver) JunctionDemand(i, c int) (float64, error) {
	d, err := s.demandSlot(i, c)
	if err != nil {
		return 0, err
	}
	return s.demandBase[d] * s.u.flow, nil
}

// SetJunctionDemand sets the base demand (file flow units, negative for
// an inflow) of category c of junction i.
func (s *Solver) SetJunctionDemand(i, c int, base float64) error {
	d, err := s.demandSlot(i, c)
	if err != nil {
		return err
	}
	if err := checkValue("base demand", base, true); err != nil {
		return err
	}
	s.demandBase[d] = base / s.u.flow
	return nil
}

// SetDemandMultiplier sets the global demand multiplier.
func (s *Solver) SetDemandMultiplier(m float64) error {
	if err := checkValue("demand multiplier", m, false); err != nil {
		return err
	}
	s.dmult = m
	return nil
}

// SetPipeRoughness sets pipe k's roughness (H-W C, D-W roughness in
// millifeet or mm, or Manning n).
func (s *Solver) SetPipeRoughness(k int, c float64) error {
	if err := s.checkPipe(k); err != nil {
		return err
	}
	if err := checkValue("roughness", c, false); err != nil {
		return err
	}
	if c == 0 {
		return fmt.Errorf("network: roughness of pipe %s must be positive", s.net.Links[k].ID)
	}
	if s.net.Options.Headloss == DarcyWeisbach {
		c /= 1000 * s.u.head
	}
	s.kc[k] = c
	s.initSetting[k] = c
	if s.setting[k] != Missing {
		s.setting[k] = c
	}
	s.resistance(k)
	return nil
}

// PipeRoughness returns pipe k's roughness in file units.
func (s *Solver) PipeRoughness(k int) float64 {
	c := s.kc[k]
	if s.net.Options.Headloss == DarcyWeisbach {
		c *= 1000 * s.u.head
	}
	return c
}

// SetEmitter sets junction i's emitter coefficient (flow units at unit
// pressure, flow = coeff·p^exponent); 0 removes the emitter. An emitter
// is the usual way to model a leak or a burst at a node.
func (s *Solver) SetEmitter(i int, coeff float64) error {
	if err := s.checkJunction(i); err != nil {
		return err
	}
	if err := checkValue("emitter coefficient", coeff, false); err != nil {
		return err
	}
	had := s.emitterK[i] > 0
	s.emitterK[i] = 0
	if coeff > 0 {
		c := &epanet
		ecf := c.MperFT
		if !s.u.si {
			ecf = c.PSIperFT * s.specificGravity
		}
		s.emitterK[i] = pow(s.u.flow, s.qexp) / ecf / pow(coeff, s.qexp)
		if !had {
			s.emitterFlow[i] = 1 // EPANET's starting emitter flow
		}
	} else {
		s.emitterFlow[i] = 0
	}
	return nil
}

// Emitter returns junction i's emitter coefficient in file units.
func (s *Solver) Emitter(i int) float64 {
	if i < 0 || i >= s.nJunc || s.emitterK[i] == 0 {
		return 0
	}
	c := &epanet
	ecf := c.MperFT
	if !s.u.si {
		ecf = c.PSIperFT * s.specificGravity
	}
	return pow(pow(s.u.flow, s.qexp)/ecf/s.emitterK[i], 1/s.qexp)
}

// SetPipeLeakage sets pipe k's FAVAD leakage: leak area in mm² per 100
// length units and area expansion in mm² per unit of pressure head.
func (s *Solver) SetPipeLeakage(k int, area, expansion float64) error {
	if err := s.checkPipe(k); err != nil {
		return err
	}
	if err := checkValue("leak area", area, false); err != nil {
		return err
	}
	if err := checkValue("leak expansion", expansion, false); err != nil {
		return err
	}
	s.leakArea[k] = area * s.u.head
	s.leakExpan[k] = expansion * s.u.head
	old := s.leak
	s.leak = nil
	s.initLeakage()
	// Keep the flows of nodes that were already leaking (warm starts).
	if s.hasLeakage && old != nil {
		for i := range s.leak {
			if s.leak[i].cfa > 0 && old[i].cfa > 0 {
				s.leak[i].qfa = old[i].qfa
			}
			if s.leak[i].cva > 0 && old[i].cva > 0 {
				s.leak[i].qva = old[i].qva
			}
		}
	}
	if !s.hasLeakage {
		clear(s.leakFlow)
	}
	return nil
}

// SetDuration changes the simulation duration (seconds).
func (s *Solver) SetDuration(d int64) error {
	if d < 0 {
		return fmt.Errorf("network: negative duration %d", d)
	}
	s.times.Duration = d
	if s.times.ReportStart > d {
		s.times.ReportStart = 0
	}
	return nil
}

// SetLinkStatus opens or closes link k now (as a control would); it lasts
// until a control, rule or status check changes it, or until the next
// Init/Run/Snapshot, which restore the initial statuses.
func (s *Solver) SetLinkStatus(k int, open bool) error {
	if k < 0 || k >= s.nLinks {
		return fmt.Errorf("network: no link %d", k)
	}
	if s.kind[k] == CVPipe {
		return fmt.Errorf("network: check valve %s cannot be controlled", s.net.Links[k].ID)
	}
	s.setLinkStatus(k, open)
	return nil
}

// SetLinkSetting sets link k's pump speed or valve setting now, in file
// units (as SetLinkStatus, it lasts until something changes it).
func (s *Solver) SetLinkSetting(k int, v float64) error {
	if k < 0 || k >= s.nLinks || s.kind[k].IsPipe() || s.kind[k] == GPV {
		return fmt.Errorf("network: link %d has no numerical setting", k)
	}
	if err := checkValue("setting", v, false); err != nil {
		return err
	}
	switch s.kind[k] {
	case PRV, PSV, PBV:
		v /= s.u.pressure
	case FCV:
		v /= s.u.flow
	}
	s.setLinkSetting(k, v)
	return nil
}
