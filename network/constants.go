package network

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed epanet_constants.csv
var constantsCSV []byte

// engineConstants are the numbers of the EPANET engine this package
// reproduces, read from epanet_constants.csv (source and edition there).
type engineConstants struct {
	GPMperCFS, AFDperCFS, MGDperCFS, IMGDperCFS, LPSperCFS, LPMperCFS  float64
	CMSperCFS, CMHperCFS, CMDperCFS, MLDperCFS                         float64
	MperFT, PSIperFT, KPAperPSI, BARperPSI, KWperHP                    float64
	Viscosity, Diffusivity, MinPDiff, Big, Tiny                        float64
	DefaultTrials, DefaultAccuracy, DefaultHtol, DefaultQtol           float64
	DefaultRQtol, DefaultCheckFreq, DefaultMaxCheck                    float64
	DefaultEfficiency, DefaultEmitterExponent, DefaultPressureExponent float64
	QZero, CBig, CSmall, BarrierSlope                                  float64
	HWExponent, HWCoefficient, HWDiameterExponent, Gravity             float64
	ManningConstant, ManningRadiusExponent, MinorLossFactor            float64
	TCVFactor, HPperCFSft, LeakOrifice, LeakQtol, PumpShutoffFactor    float64
	RuleTolerance, FlowChangeRelax, PDAFlowChangeLimit                 float64
	DWA1, DWA2, DWA8, DWA9, DWAB, DWAC                                 float64
}

// epanet holds the engine constants; it is filled once at start-up and
// only read afterwards.
var epanet = mustLoadConstants(constantsCSV)

func mustLoadConstants(data []byte) engineConstants {
	c, err := loadConstants(data)
	if err != nil {
		panic("network: embedded epanet_constants.csv: " + err.Error())
	}
	return c
}

func loadConstants(data []byte) (engineConstants, error) {
	var c engineConstants
	fields := map[string]*float64{
		"GPMperCFS": &c.GPMperCFS, "AFDperCFS": &c.AFDperCFS, "MGDperCFS": &c.MGDperCFS,
		"IMGDperCFS": &c.IMGDperCFS, "LPSperCFS": &c.LPSperCFS, "LPMperCFS": &c.LPMperCFS,
		"CMSperCFS": &c.CMSperCFS, "CMHperCFS": &c.CMHperCFS, "CMDperCFS": &c.CMDperCFS,
		"MLDperCFS": &c.MLDperCFS, "MperFT": &c.MperFT, "PSIperFT": &c.PSIperFT,
		"KPAperPSI": &c.KPAperPSI, "BARperPSI": &c.BARperPSI, "KWperHP": &c.KWperHP,
		"Viscosity": &c.Viscosity, "Diffusivity": &c.Diffusivity, "MinPDiff": &c.MinPDiff,
		"Big": &c.Big, "Tiny": &c.Tiny, "DefaultTrials": &c.DefaultTrials,
		"DefaultAccuracy": &c.DefaultAccuracy, "DefaultHtol": &c.DefaultHtol,
		"DefaultQtol": &c.DefaultQtol, "DefaultRQtol": &c.DefaultRQtol,
		"DefaultCheckFreq": &c.DefaultCheckFreq, "DefaultMaxCheck": &c.DefaultMaxCheck,
		"DefaultEfficiency": &c.DefaultEfficiency, "DefaultEmitterExponent": &c.DefaultEmitterExponent,
		"DefaultPressureExponent": &c.DefaultPressureExponent, "QZero": &c.QZero,
		"CBig": &c.CBig, "CSmall": &c.CSmall, "BarrierSlope": &c.BarrierSlope,
		"HWExponent": &c.HWExponent, "HWCoefficient": &c.HWCoefficient,
		"HWDiameterExponent": &c.HWDiameterExponent, "Gravity": &c.Gravity,
		"ManningConstant": &c.ManningConstant, "ManningRadiusExponent": &c.ManningRadiusExponent,
		"MinorLossFactor": &c.MinorLossFactor, "TCVFactor": &c.TCVFactor,
		"HPperCFSft": &c.HPperCFSft, "LeakOrifice": &c.LeakOrifice, "LeakQtol": &c.LeakQtol,
		"PumpShutoffFactor": &c.PumpShutoffFactor, "RuleTolerance": &c.RuleTolerance,
		"FlowChangeRelax": &c.FlowChangeRelax, "PDAFlowChangeLimit": &c.PDAFlowChangeLimit,
		"DWA1": &c.DWA1, "DWA2": &c.DWA2, "DWA8": &c.DWA8, "DWA9": &c.DWA9, "DWAB": &c.DWAB, "DWAC": &c.DWAC,
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 6
	header := true
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, err
		}
		if header {
			header = false
			continue
		}
		name := strings.TrimSpace(rec[0])
		p, ok := fields[name]
		if !ok {
			return c, fmt.Errorf("unknown constant %q", name)
		}
		if seen[name] {
			return c, fmt.Errorf("constant %q given twice", name)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return c, fmt.Errorf("constant %s: %w", name, err)
		}
		if rec[5] != "true" {
			return c, fmt.Errorf("constant %s is not verified", name)
		}
		*p = v
		seen[name] = true
	}
	for name := range fields {
		if !seen[name] {
			return c, fmt.Errorf("constant %q missing", name)
		}
	}
	return c, nil
}
