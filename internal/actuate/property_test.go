package actuate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// source yields the numbers an action sequence is made of: from a seeded
// generator (the property test) or from fuzz bytes (the fuzz target).
type source interface {
	intn(n int) int
	float() float64 // in [0, 1)
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }
func (s randSource) float() float64 { return s.r.Float64() }

type byteSource struct{ b []byte }

func (s *byteSource) next() uint64 {
	if len(s.b) == 0 {
		return 0
	}
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}
func (s *byteSource) intn(n int) int { return int(s.next() % uint64(n)) }
func (s *byteSource) float() float64 { return float64(s.next()>>11) / (1 << 53) }

// wild returns anything a broken controller or a careless operator could
// produce: NaN, infinities, huge and tiny numbers, values just past a bound.
func wild(src source, lo, hi float64) float64 {
	switch src.intn(12) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return math.MaxFloat64
	case 4:
		return -math.MaxFloat64
	case 5:
		return hi + 1e-9
	case 6:
		return lo - 1e-9
	case 7:
		return hi * (1 + 10*src.float())
	case 8:
		return math.SmallestNonzeroFloat64
	}
	return lo + (hi-lo)*(1.4*src.float()-0.2)
}

// randomActuators draws a set of actuators with varied interlocks.
func randomActuators(src source) []Actuator {
	n := 1 + src.intn(4)
	acts := make([]Actuator, n)
	for i := range acts {
		lo := math.Round((src.float()*20-10)*100) / 100
		hi := lo + math.Round(src.float()*200*100)/100
		a := Actuator{Name: fmt.Sprintf("out_%d", i), Device: fmt.Sprintf("DEV-%d", i%3), Unit: "u",
			Limits: Limits{Min: lo, Max: hi, FailSafe: lo + (hi-lo)*src.float(), Lockout: lo}}
		if src.intn(2) == 0 {
			a.MaxRisePerS = src.float() * (hi - lo) / 600
			a.MaxFallPerS = src.float() * (hi - lo) / 60
		}
		if src.intn(3) == 0 {
			a.StaleAfterS = 60 + src.float()*900
		}
		if src.intn(4) == 0 {
			a.Values = []float64{lo, (lo + hi) / 2, hi}
			a.FailSafe = a.Values[src.intn(3)]
			if src.intn(2) == 0 {
				a.MinDwellS = 1 + 10*src.float()
			}
		}
		if src.intn(2) == 0 {
			a.Deadband = src.float() * (hi - lo) / 50
		}
		if src.intn(3) == 0 {
			a.RefreshS = 1 + src.float()*60
		}
		acts[i] = a
	}
	return acts
}

// runActions drives an Actuation with n random actions — controller
// requests of any value, operator modes with any value, reconfigurations,
// device acks and refusals, time passing — and checks after every action
// that nothing outside an interlock bound was decided, recorded or
// published, that rate limits held, and that lock-outs held.
func runActions(t *testing.T, src source, n int) {
	acts := randomActuators(src)
	byName := map[string]Actuator{}
	for _, a := range acts {
		byName[a.Name] = a
	}
	r := newRig(t, acts...)
	ctx := context.Background()
	held := map[string]float64{}
	changed := map[string]time.Time{} // when held last changed
	hold := func(name string, v float64) {
		if prev, ok := held[name]; !ok || prev != v {
			changed[name] = r.clock.Now()
		}
		held[name] = v
	}
	modes := map[string]string{}
	checked := 0
	for step := 0; step < n; step++ {
		switch k := src.intn(20); {
		case k < 13: // a control step
			dt := 60 * src.float()
			switch src.intn(10) {
			case 0:
				dt = math.NaN()
			case 1:
				dt = -dt
			case 2:
				dt = 1e9
			}
			var reqs []Request
			for _, a := range acts {
				if src.intn(5) == 0 {
					continue
				}
				req := Request{Actuator: a.Name, Value: wild(src, a.Min, a.Max), FailSafe: src.intn(8) == 0, By: "test", Reason: "random"}
				for j := src.intn(3); j > 0; j-- {
					req.Inputs = append(req.Inputs, Input{Name: "s" + fmt.Sprint(j), Value: wild(src, 0, 100), AgeS: 2000 * src.float(), Valid: src.intn(10) != 0})
				}
				reqs = append(reqs, req)
			}
			ds, err := r.a.Apply(ctx, "PL1", reqs, dt)
			if err != nil {
				t.Fatal(err)
			}
			for name, d := range ds {
				a := byName[name]
				if !(d.Value >= a.Min && d.Value <= a.Max) {
					t.Fatalf("step %d: %s decided %g outside [%g, %g]", step, name, d.Value, a.Min, a.Max)
				}
				if a.Discrete() && !slices.Contains(a.Values, d.Value) {
					t.Fatalf("step %d: %s decided %g, not one of %v", step, name, d.Value, a.Values)
				}
				if modes[name] == command.ModeLocked && d.Value != a.Lockout {
					t.Fatalf("step %d: %s locked out but decided %g", step, name, d.Value)
				}
				if prev, ok := held[name]; ok && !d.Immediate && !a.Discrete() {
					span := dt
					if !(span >= 0) || math.IsInf(span, 0) {
						span = 0
					}
					slack := 1e-9 * (1 + math.Abs(a.Max) + math.Abs(a.Min))
					if a.MaxRisePerS > 0 && d.Value > prev+a.MaxRisePerS*span+slack {
						t.Fatalf("step %d: %s rose %g → %g in %g s (limit %g/s)", step, name, prev, d.Value, dt, a.MaxRisePerS)
					}
					if a.MaxFallPerS > 0 && d.Value < prev-a.MaxFallPerS*span-slack {
						t.Fatalf("step %d: %s fell %g → %g in %g s (limit %g/s)", step, name, prev, d.Value, dt, a.MaxFallPerS)
					}
				}
				if prev, ok := held[name]; ok && prev != d.Value && !d.Immediate && a.MinDwellS > 0 {
					if since := r.clock.Now().Sub(changed[name]).Seconds(); since < a.MinDwellS {
						t.Fatalf("step %d: %s changed %g → %g after %.1f s (dwell %g s)", step, name, prev, d.Value, since, a.MinDwellS)
					}
				}
				hold(name, d.Value)
			}
		case k < 16: // an operator
			a := acts[src.intn(len(acts))]
			mode := []string{command.ModeAuto, command.ModeManual, command.ModeLocked, "bogus"}[src.intn(4)]
			v := wild(src, a.Min, a.Max)
			if src.intn(2) == 0 && a.Discrete() {
				v = a.Values[src.intn(len(a.Values))]
			}
			_, err := r.a.SetMode(ctx, "PL1", a.Name, mode, v, "token:fuzz", "random")
			prev, hasPrev := held[a.Name]
			dwelling := a.MinDwellS > 0 && hasPrev && prev != v && r.clock.Now().Sub(changed[a.Name]).Seconds() < a.MinDwellS
			switch {
			case err == nil:
				modes[a.Name] = mode
			case errors.Is(err, ErrTooFast) && mode != command.ModeLocked:
				// operators' changes are rate-limited; a lock-out never is
			case errors.Is(err, store.ErrInvalid) && mode == command.ModeManual && dwelling && strings.Contains(err.Error(), "dwell"):
			case mode == command.ModeManual && a.CheckManual(v) == nil || mode == command.ModeAuto || mode == command.ModeLocked:
				t.Fatalf("step %d: SetMode(%s, %s, %g) refused: %v", step, a.Name, mode, v, err)
			}
			if st := r.a.Status("PL1"); len(st) > 0 {
				for _, s := range st {
					if s.HasValue {
						hold(s.Name, s.Value)
					}
				}
			}
		case k < 18: // the devices answer
			r.autoAck(src.intn(4) != 0)
			if src.intn(2) == 0 {
				r.broker.onPublish = nil
			}
		default: // time passes
			r.clock.Add(time.Duration(src.float() * float64(5*time.Second)))
		}
		r.a.drain(ctx)
		checked += checkSent(t, r, byName, checked)
	}
	if len(r.store.errs) > 0 {
		t.Fatalf("records the store could not keep: %v", r.store.errs[0])
	}
}

// checkSent checks every publish and every ledger entry since the last call.
func checkSent(t *testing.T, r *rig, byName map[string]Actuator, from int) int {
	t.Helper()
	msgs := r.broker.all()
	for _, p := range msgs[from:] {
		m, err := ParseMessage(p.payload)
		if err != nil {
			t.Fatalf("published an unreadable command %q: %v", p.payload, err)
		}
		a, ok := byName[m.Command]
		if !ok || p.topic != CommandsTopic+a.Device {
			t.Fatalf("command %s published on %s", m.Command, p.topic)
		}
		if !(m.Value >= a.Min && m.Value <= a.Max) {
			t.Fatalf("SENT %s = %g outside the interlock bounds [%g, %g]", m.Command, m.Value, a.Min, a.Max)
		}
		if a.Discrete() && !slices.Contains(a.Values, m.Value) {
			t.Fatalf("SENT %s = %g, not one of %v", m.Command, m.Value, a.Values)
		}
	}
	for _, e := range r.ledger.all() {
		if e.Event != reading.EventIssue {
			continue
		}
		a := byName[e.Command]
		if !e.InBounds() || e.Min != a.Min || e.Max != a.Max {
			t.Fatalf("ledger entry %s: %g within [%g, %g], configured [%g, %g]", e.ID, e.Value, e.Min, e.Max, a.Min, a.Max)
		}
	}
	return len(msgs) - from
}

// TestNothingAboveAnInterlockIsEverSent is the interlock property: for
// arbitrary controller outputs, operator actions, device answers and time
// steps, no value outside an actuator's bounds is decided, recorded in the
// ledger or published, rate limits hold and lock-outs hold.
func TestNothingAboveAnInterlockIsEverSent(t *testing.T) {
	seeds, actions := 200, 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range seeds {
		runActions(t, randSource{rand.New(rand.NewPCG(uint64(seed), 7))}, actions)
	}
}

func FuzzInterlocks(f *testing.F) {
	f.Add([]byte("seed"))
	f.Add(make([]byte, 512))
	var b strings.Builder
	for i := range 256 {
		b.WriteByte(byte(i * 37))
	}
	f.Add([]byte(b.String()))
	f.Fuzz(func(t *testing.T, data []byte) {
		runActions(t, &byteSource{b: data}, len(data)/4+1)
	})
}

// TestDeviceSeesOnlyBoundedCommands plays a device that checks what it is
// told against its own nameplate, through random requests.
func TestDeviceSeesOnlyBoundedCommands(t *testing.T) {
	a := pump()
	r := newRig(t, a)
	var bad []string
	r.broker.onPublish = func(device string, m Message) {
		if m.Value > a.Max || m.Value < a.Min {
			bad = append(bad, fmt.Sprint(m.Value))
		}
		ack, _ := json.Marshal(AckMessage{ID: m.ID, OK: true})
		r.a.HandleAck(device, ack)
	}
	src := randSource{rand.New(rand.NewPCG(1, 2))}
	for range 2000 {
		r.apply(t, 30, Request{Actuator: a.Name, Value: wild(src, a.Min, a.Max), Inputs: fresh(wild(src, 0, 100))})
	}
	if len(bad) > 0 {
		t.Fatalf("the device received %v", bad)
	}
}

// FuzzSetpointDecide: a set-point change is refused outside its bounds and
// otherwise lands within them, at most MaxStep from the value in force.
func FuzzSetpointDecide(f *testing.F) {
	f.Add(5.0, 7.3, 2.0, 8.0, 1.0)
	f.Add(5.0, 3.0, 2.0, 8.0, 0.0)
	f.Add(math.NaN(), 6.0, 2.0, 8.0, 1.0)
	f.Fuzz(func(t *testing.T, current, value, min, max, step float64) {
		c := SetpointChange{Name: "cycles", Current: current, Value: value, Min: min, Max: max, MaxStep: step}
		v, interlocks, err := c.Decide()
		inBounds := finite(value) && value >= min && value <= max
		if !inBounds {
			if err == nil {
				t.Fatalf("%+v accepted as %g", c, v)
			}
			return
		}
		if err != nil || v < min || v > max || math.IsNaN(v) {
			t.Fatalf("%+v: %g %v", c, v, err)
		}
		limited := step > 0 && finite(current, step) && math.Abs(value-current) > step
		if limited != slices.Contains(interlocks, "rate") || !limited && v != value {
			t.Fatalf("%+v: %g %v", c, v, interlocks)
		}
		if limited && math.Abs(v-current) > step*(1+1e-12) && !(current < min || current > max) {
			t.Fatalf("%+v moved %g, more than its step", c, v-current)
		}
	})
}
