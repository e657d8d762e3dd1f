package dosing

import (
	"fmt"
	"math"
)

// Calibration is a linear fluorometer response F = Slope·C + Offset (C in µg/L tracer).
type Calibration struct {
	Slope  float64 // fluorescence units per µg/L
	Offset float64 // fluorescence units at zero tracer (blank)
}

// TwoPoint builds a calibration from two standards (c1, f1) and (c2, f2), typically a blank
// and a span standard.
func TwoPoint(c1, f1, c2, f2 float64) (Calibration, error) {
	if c1 == c2 || math.IsNaN(c1+c2+f1+f2) {
		return Calibration{}, fmt.Errorf("calibration standards must differ (%g, %g µg/L)", c1, c2)
	}
	s := (f2 - f1) / (c2 - c1)
	if !(s > 0) {
		return Calibration{}, fmt.Errorf("calibration slope %g must be positive", s)
	}
	return Calibration{Slope: s, Offset: f1 - s*c1}, nil
}

// Tracer converts a fluorescence reading into µg/L of tracer.
func (c Calibration) Tracer(f float64) float64 { return (f - c.Offset) / c.Slope }

// Fluorometer turns raw fluorescence into product concentration.
type Fluorometer struct {
	Cal Calibration
	// TempCoeff is the relative fluorescence change per °C (negative for PTSA-like dyes);
	// readings are referred to RefTempC by dividing by 1 + TempCoeff·(T − RefTempC).
	TempCoeff float64
	RefTempC  float64
	// Ratio is µg tracer per mg product, so C_product(mg/L) = C_tracer(µg/L)/Ratio
	// (1 % PTSA in the product ⇒ 10).
	Ratio float64
}

// Product returns tracer (µg/L) and product (mg/L) for fluorescence f measured at tempC.
func (m Fluorometer) Product(f, tempC float64) (tracerUgL, productMgL float64) {
	comp := 1 + m.TempCoeff*(tempC-m.RefTempC)
	tracerUgL = m.Cal.Tracer(f / comp)
	return tracerUgL, tracerUgL / m.Ratio
}

// ConsumptionPercent is the share of active polymer consumed by the system (scale, deposits,
// dispersancy stress): 100·(1 − C_tagged/(C_tracer·expected)), with both concentrations as
// product mg/L and expected the tagged/tracer ratio in fresh product (1 when both channels
// are calibrated to product).
func ConsumptionPercent(taggedMgL, tracerMgL, expected float64) (float64, error) {
	if !(tracerMgL > 0) || !(expected > 0) || math.IsNaN(taggedMgL) {
		return 0, fmt.Errorf("tracer %g mg/L and ratio %g must be positive", tracerMgL, expected)
	}
	return 100 * (1 - taggedMgL/(tracerMgL*expected)), nil
}

// SystemVolume is the water volume (m³) from a slug of tracer: V = m/ΔC, mass in g and the
// rise of the tracer reading in µg/L.
func SystemVolume(tracerGrams, riseUgL float64) (float64, error) {
	if !(tracerGrams > 0) || !(riseUgL > 0) {
		return 0, fmt.Errorf("slug mass %g g and reading rise %g µg/L must be positive", tracerGrams, riseUgL)
	}
	return tracerGrams * 1e6 / riseUgL / 1000, nil
}

// HoldingTimeIndex is ln2·V/(B + D) in hours (V m³, purge m³/h).
func HoldingTimeIndex(volume, purge float64) float64 { return math.Ln2 * volume / purge }

// TimeToFraction is the time (h) for a step in feed to reach fraction f of its new steady
// state in a mixed tank: −τ·ln(1 − f) with τ = V/(B + D).
func TimeToFraction(volume, purge, f float64) float64 { return -volume / purge * math.Log(1-f) }

// TruePurge is the purge (m³/h) implied by the product feed (g/h) and the measured product
// concentration (mg/L = g/m³): it exposes unaccounted blowdown and leaks.
func TruePurge(productFeedGh, productMgL float64) (float64, error) {
	if !(productMgL > 0) || !(productFeedGh >= 0) {
		return 0, fmt.Errorf("product %g mg/L must be positive", productMgL)
	}
	return productFeedGh / productMgL, nil
}
