package actuate

import (
	"math"
	"slices"
	"testing"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/reading"
)

func pump() Actuator {
	return Actuator{Name: "inhibitor_pump", Device: "D-PUMP", Unit: "L/h",
		Limits: Limits{Min: 0, Max: 0.3, MaxRisePerS: 0.001, MaxFallPerS: 0.01, FailSafe: 0.05, Lockout: 0, StaleAfterS: 900}}
}

func TestDecide(t *testing.T) {
	ok := []Input{{Name: "fluor_ppb", Value: 48, AgeS: 30, Valid: true}}
	held := State{Held: 0.1, HasHeld: true}
	valve := Actuator{Name: "makeup_valve", Device: "D-MV", Unit: "%", Limits: Limits{Min: 0, Max: 100, FailSafe: 100, Lockout: 0, Values: []float64{0, 100}}}
	tests := []struct {
		name      string
		act       Actuator
		st        State
		req       Request
		dt        float64
		want      float64
		interlock []string
		source    string
	}{
		{"within limits", pump(), held, Request{Value: 0.12, Inputs: ok}, 60, 0.12, nil, reading.SourceController},
		{"above the maximum dose", pump(), State{}, Request{Value: 5, Inputs: ok}, 60, 0.3, []string{"max"}, reading.SourceController},
		{"negative dose", pump(), State{}, Request{Value: -1, Inputs: ok}, 60, 0, []string{"min"}, reading.SourceController},
		{"rise limited", pump(), held, Request{Value: 0.3, Inputs: ok}, 60, 0.16, []string{"rate"}, reading.SourceController},
		{"fall limited", pump(), held, Request{Value: 0, Inputs: ok}, 5, 0.05, []string{"rate"}, reading.SourceController},
		{"no time, no move", pump(), held, Request{Value: 0.3, Inputs: ok}, 0, 0.1, []string{"rate"}, reading.SourceController},
		{"backward time, no move", pump(), held, Request{Value: 0.3, Inputs: ok}, -60, 0.1, []string{"rate"}, reading.SourceController},
		{"NaN time, no move", pump(), held, Request{Value: 0.3, Inputs: ok}, math.NaN(), 0.1, []string{"rate"}, reading.SourceController},
		{"NaN request", pump(), held, Request{Value: math.NaN(), Inputs: ok}, 60, 0.05, []string{"nan", "failsafe"}, reading.SourceInterlock},
		{"Inf request", pump(), held, Request{Value: math.Inf(1), Inputs: ok}, 60, 0.05, []string{"nan", "failsafe"}, reading.SourceInterlock},
		{"stale input", pump(), held, Request{Value: 0.2, Inputs: []Input{{Name: "fluor_ppb", Value: 48, AgeS: 901, Valid: true}}}, 60, 0.05, []string{"failsafe", "stale:fluor_ppb"}, reading.SourceInterlock},
		{"invalid input", pump(), held, Request{Value: 0.2, Inputs: []Input{{Name: "fluor_ppb", Value: 48}}}, 60, 0.05, []string{"failsafe", "invalid:fluor_ppb"}, reading.SourceInterlock},
		{"NaN input", pump(), held, Request{Value: 0.2, Inputs: []Input{{Name: "fluor_ppb", Value: math.NaN(), Valid: true}}}, 60, 0.05, []string{"failsafe", "invalid:fluor_ppb"}, reading.SourceInterlock},
		{"NaN age", pump(), held, Request{Value: 0.2, Inputs: []Input{{Name: "fluor_ppb", Value: 48, AgeS: math.NaN(), Valid: true}}}, 60, 0.05, []string{"failsafe", "stale:fluor_ppb"}, reading.SourceInterlock},
		{"controller fail-safe keeps its value within limits", pump(), held, Request{Value: 0.11, FailSafe: true}, 60, 0.11, []string{"failsafe"}, reading.SourceController},
		{"locked out", pump(), State{Mode: command.ModeLocked, Held: 0.2, HasHeld: true}, Request{Value: 0.3, Inputs: ok}, 60, 0, []string{"lockout"}, reading.SourceInterlock},
		{"locked out ignores stale inputs", pump(), State{Mode: command.ModeLocked}, Request{Value: math.NaN()}, 60, 0, []string{"lockout"}, reading.SourceInterlock},
		{"manual holds the operator's value", pump(), State{Mode: command.ModeManual, Manual: 0.12, Held: 0.1, HasHeld: true}, Request{Value: 0.3, Inputs: ok}, 60, 0.12, []string{"manual"}, reading.SourceOperator},
		{"manual is rate limited", pump(), State{Mode: command.ModeManual, Manual: 0.3, Held: 0.1, HasHeld: true}, Request{Value: 0.3}, 60, 0.16, []string{"manual", "rate"}, reading.SourceOperator},
		{"manual ignores the controller's stale inputs", pump(), State{Mode: command.ModeManual, Manual: 0.12, Held: 0.12, HasHeld: true}, Request{Value: 0, Inputs: []Input{{Name: "x"}}}, 60, 0.12, []string{"manual"}, reading.SourceOperator},
		{"discrete snaps", valve, State{}, Request{Value: 60}, 60, 100, []string{"discrete"}, reading.SourceController},
		{"discrete exact", valve, State{}, Request{Value: 0}, 60, 0, nil, reading.SourceController},
		{"discrete NaN to fail-safe", valve, State{}, Request{Value: math.NaN()}, 60, 100, []string{"nan", "failsafe"}, reading.SourceInterlock},
	}
	for _, tc := range tests {
		if err := tc.act.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d := tc.act.Decide(tc.st, tc.req, tc.dt)
		if math.Abs(d.Value-tc.want) > 1e-12 || !slices.Equal(d.Interlocks, tc.interlock) || d.Source != tc.source {
			t.Errorf("%s: got %g %v %s, want %g %v %s", tc.name, d.Value, d.Interlocks, d.Source, tc.want, tc.interlock, tc.source)
		}
	}
}

func TestValidateActuator(t *testing.T) {
	bad := map[string]func(*Actuator){
		"name":                func(a *Actuator) { a.Name = "Inhibitor Pump" },
		"device":              func(a *Actuator) { a.Device = "" },
		"min above max":       func(a *Actuator) { a.Min, a.Max = 1, 0 },
		"NaN max":             func(a *Actuator) { a.Max = math.NaN() },
		"fail-safe outside":   func(a *Actuator) { a.FailSafe = 1 },
		"lock-out outside":    func(a *Actuator) { a.Lockout = -1 },
		"negative rate":       func(a *Actuator) { a.MaxRisePerS = -1 },
		"fail-safe not valid": func(a *Actuator) { a.Values = []float64{0, 0.3} },
		"value outside":       func(a *Actuator) { a.Values = []float64{0, 0.05, 2} },
	}
	for name, mutate := range bad {
		a := pump()
		mutate(&a)
		if a.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := pump()
	if p.CheckManual(0.31) == nil || p.CheckManual(math.NaN()) == nil || p.CheckManual(0.3) != nil {
		t.Error("CheckManual does not follow the bounds")
	}
}

func BenchmarkDecide(b *testing.B) {
	a := pump()
	st := State{Held: 0.1, HasHeld: true}
	req := Request{Value: 0.2, Inputs: []Input{{Name: "fluor_ppb", Value: 48, AgeS: 30, Valid: true}, {Name: "purge", Value: 4, Valid: true}}}
	b.ReportAllocs()
	for b.Loop() {
		d := a.Decide(st, req, 60)
		st = st.Next(d)
	}
}
