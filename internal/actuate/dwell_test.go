package actuate

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// blowdown is a discrete on/off valve that must rest a minute between moves.
func blowdown() Actuator {
	return Actuator{Name: "blowdown_valve", Device: "D-BD", Unit: "%",
		Limits: Limits{Min: 0, Max: 100, FailSafe: 0, Lockout: 0, Values: []float64{0, 100}, MinDwellS: 60}}
}

func TestDecideDwell(t *testing.T) {
	v := blowdown()
	req := Request{Actuator: v.Name, Value: 100}
	for _, tc := range []struct {
		name      string
		st        State
		want      float64
		interlock string
	}{
		{"first value", State{}, 100, ""},
		{"held 10 s", State{Held: 0, HasHeld: true, HeldS: 10}, 0, "dwell"},
		{"held 60 s", State{Held: 0, HasHeld: true, HeldS: 60}, 100, ""},
		{"no change asked", State{Held: 100, HasHeld: true, HeldS: 1}, 100, ""},
		{"held time unknown", State{Held: 0, HasHeld: true, HeldS: math.NaN()}, 0, "dwell"},
	} {
		d := v.Decide(tc.st, req, 1)
		if d.Value != tc.want || strings.Join(d.Interlocks, ",") != tc.interlock {
			t.Errorf("%s: %g %v, want %g %q", tc.name, d.Value, d.Interlocks, tc.want, tc.interlock)
		}
	}
	// Fail-safe and lock-out are never held back.
	st := State{Held: 100, HasHeld: true, HeldS: 1}
	if d := v.Decide(st, Request{Value: 100, Inputs: []Input{{Name: "x", Valid: false}}}, 1); d.Value != 0 || !d.Immediate {
		t.Errorf("fail-safe held: %+v", d)
	}
	if d := v.Decide(State{Mode: command.ModeLocked, Held: 100, HasHeld: true, HeldS: 1}, req, 1); d.Value != 0 {
		t.Errorf("lock-out held: %+v", d)
	}
	bad := pump()
	bad.MinDwellS = 10
	if bad.Validate() == nil {
		t.Error("a dwell on a continuous pump validated")
	}
}

// Finding 7: an operator toggling a discrete actuator 0↔100 every 50 ms is
// refused until the dwell has passed, with the interlock named; nothing of
// the refused changes reaches the ledger or the device.
func TestOperatorToggleRefusedWithinDwell(t *testing.T) {
	r := newRig(t, blowdown())
	r.autoAck(true)
	ctx := context.Background()
	if _, err := r.a.SetMode(ctx, "PL1", "blowdown_valve", command.ModeManual, 100, "token:op", "open"); err != nil {
		t.Fatal(err)
	}
	r.a.drain(ctx)
	entries, sent := len(r.ledger.all()), len(r.broker.all())
	for i := 0; i < 20; i++ {
		r.clock.Add(50 * time.Millisecond)
		_, err := r.a.SetMode(ctx, "PL1", "blowdown_valve", command.ModeManual, float64(100*(i%2)), "token:op", "toggle")
		if i%2 == 1 {
			// The held value again: no dwell, but the operators' rate limit.
			if err != nil && !errors.Is(err, ErrTooFast) {
				t.Fatalf("toggle %d to the held value: %v", i, err)
			}
			continue
		}
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "interlock dwell") {
			t.Fatalf("toggle %d: %v, want the dwell interlock", i, err)
		}
	}
	r.a.drain(ctx)
	for _, e := range r.ledger.all()[entries:] {
		if e.Event == reading.EventIssue || e.HasValue && e.Value != 100 {
			t.Errorf("a refused toggle reached the ledger: %+v", e)
		}
	}
	if got := r.broker.all()[sent:]; len(got) != 0 {
		t.Errorf("%d commands sent while the valve dwelt", len(got))
	}
	// The controller is held back too, and named.
	if _, err := r.a.SetMode(ctx, "PL1", "blowdown_valve", command.ModeAuto, 0, "token:op", "auto"); err != nil && !errors.Is(err, ErrTooFast) {
		t.Fatal(err)
	}
	r.clock.Add(61 * time.Second)
	if _, err := r.a.SetMode(ctx, "PL1", "blowdown_valve", command.ModeManual, 0, "token:op", "close after the dwell"); err != nil {
		t.Fatalf("after the dwell: %v", err)
	}
	r.clock.Add(time.Second)
	if _, err := r.a.SetMode(ctx, "PL1", "blowdown_valve", command.ModeAuto, 0, "token:op", "auto"); err != nil {
		t.Fatal(err)
	}
	if d := r.apply(t, 1, Request{Actuator: "blowdown_valve", Value: 100}); d["blowdown_valve"].Value != 0 || strings.Join(d["blowdown_valve"].Interlocks, ",") != "dwell" {
		t.Errorf("controller within the dwell: %+v", d["blowdown_valve"])
	}
}

// Operators' mode changes of one actuator are rate-limited; a lock-out
// always goes through.
func TestOperatorChangesRateLimited(t *testing.T) {
	r := newRig(t, pump())
	ctx := context.Background()
	burst := DefaultOperatorChanges.Burst
	for i := 0; i < burst; i++ {
		if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeManual, 0.1, "token:op", "x"); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	_, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeAuto, 0, "token:op", "x")
	var tf *TooFastError
	if !errors.Is(err, ErrTooFast) || !errors.As(err, &tf) || tf.Retry <= 0 || tf.Retry > 6*time.Second {
		t.Fatalf("change %d: %v, want ErrTooFast with a retry within 6 s", burst, err)
	}
	if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeLocked, 0, "token:op", "emergency"); err != nil {
		t.Fatalf("lock-out refused: %v", err)
	}
	r.clock.Add(time.Duration(float64(time.Second) / DefaultOperatorChanges.PerS))
	if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeAuto, 0, "token:op", "x"); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}
