package actuate

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

type rig struct {
	a      *Actuation
	ledger *fakeLedger
	store  *fakeStore
	broker *fakeBroker
	clock  *clock
	mu     sync.Mutex
	alarms []Alarm
}

func newRig(t testing.TB, acts ...Actuator) *rig {
	t.Helper()
	r := &rig{ledger: &fakeLedger{}, store: newFakeStore(), broker: &fakeBroker{}, clock: &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}}
	a, err := New(Options{Publisher: r.broker, Ledger: r.ledger, Store: r.store, Now: r.clock.Now, AckTimeout: time.Second, Retries: 3,
		RetryFailedAfter: 10 * time.Second, OnAlarm: func(al Alarm) { r.mu.Lock(); r.alarms = append(r.alarms, al); r.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Configure("PL1", "EN1", acts, nil); err != nil {
		t.Fatal(err)
	}
	r.a = a
	return r
}

// autoAck makes every device acknowledge every command it receives.
func (r *rig) autoAck(ok bool) {
	r.broker.mu.Lock()
	r.broker.onPublish = func(device string, m Message) {
		b, _ := json.Marshal(AckMessage{ID: m.ID, OK: ok, Detail: "applied"})
		r.a.HandleAck(device, b)
	}
	r.broker.mu.Unlock()
}

func (r *rig) apply(t testing.TB, dt float64, reqs ...Request) map[string]Decision {
	t.Helper()
	d, err := r.a.Apply(context.Background(), "PL1", reqs, dt)
	if err != nil {
		t.Fatal(err)
	}
	r.a.drain(context.Background())
	return d
}

func fresh(v float64) []Input { return []Input{{Name: "fluor_ppb", Value: v, AgeS: 10, Valid: true}} }

func TestCommandIsRecordedBeforeItIsSentAndAcked(t *testing.T) {
	r := newRig(t, pump())
	r.autoAck(true)
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.5, By: "dosing.inhibitor", Reason: "product 4.2 mg/L below 5.0",
		Inputs: fresh(42), Indices: []reading.Input{{Name: "lsi", Value: 0.8}}})
	msgs := r.broker.all()
	if len(msgs) != 1 || msgs[0].topic != "shuixiao/v1/commands/D-PUMP" {
		t.Fatalf("published %+v", msgs)
	}
	m, err := ParseMessage(msgs[0].payload)
	if err != nil || m.Value != 0.3 || m.Command != "inhibitor_pump" || m.Unit != "L/h" || !strings.Contains(m.Cause, "dosing.inhibitor") {
		t.Fatalf("message %+v, %v", m, err)
	}
	es := r.ledger.all()
	if len(es) != 2 || es[0].Event != reading.EventIssue || es[1].Event != reading.EventAck || es[0].ID != m.ID || es[1].ID != m.ID {
		t.Fatalf("ledger %+v", es)
	}
	iss := es[0]
	if iss.Value != 0.3 || !iss.HasRequested || iss.Requested != 0.5 || iss.Max != 0.3 || iss.Interlocks[0] != "max" ||
		iss.Inputs[0].Name != "fluor_ppb" || iss.Indices[0].Name != "lsi" || iss.Source != reading.SourceController {
		t.Fatalf("issue entry %+v", iss)
	}
	rec := r.store.command(m.ID)
	if rec.Status != command.Acked || rec.Index != 0 || rec.OutcomeIndex != 1 || rec.Attempts != 1 || rec.Detail != "applied" {
		t.Fatalf("record %+v", rec)
	}
	// Unchanged value: nothing new is sent.
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.9, Inputs: fresh(42)})
	if n := len(r.broker.all()); n != 1 {
		t.Fatalf("%d publishes for an unchanged value", n)
	}
}

func TestRetryThenTimeoutRaisesAlarm(t *testing.T) {
	r := newRig(t, pump())
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	for range 3 {
		r.clock.Add(1100 * time.Millisecond)
		r.a.drain(context.Background())
	}
	msgs := r.broker.all()
	if len(msgs) != 3 {
		t.Fatalf("%d publishes, want 3 (one and two retries)", len(msgs))
	}
	for _, m := range msgs[1:] {
		if string(m.payload) != string(msgs[0].payload) {
			t.Fatal("a retry must repeat the same command (same id)")
		}
	}
	es := r.ledger.all()
	if len(es) != 2 || es[1].Event != reading.EventTimeout || es[1].Attempts != 3 {
		t.Fatalf("ledger %+v", es)
	}
	if len(r.alarms) != 1 || r.alarms[0].Code != "actuator_no_ack" || r.alarms[0].Device != "D-PUMP" {
		t.Fatalf("alarms %+v", r.alarms)
	}
	// The failed value is offered again after RetryFailedAfter, and an ack clears the alarm.
	r.autoAck(true)
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	if len(r.broker.all()) != 3 {
		t.Fatal("resent before RetryFailedAfter")
	}
	r.clock.Add(11 * time.Second)
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	if len(r.broker.all()) != 4 || len(r.alarms) != 3 || !r.alarms[1].Clear {
		t.Fatalf("after recovery: %d publishes, alarms %+v", len(r.broker.all()), r.alarms)
	}
}

func TestNackAndSupersede(t *testing.T) {
	r := newRig(t, pump())
	r.autoAck(false)
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	es := r.ledger.all()
	if len(es) != 2 || es[1].Event != reading.EventNack || len(r.alarms) != 1 || r.alarms[0].Code != "actuator_refused" {
		t.Fatalf("nack: ledger %+v alarms %+v", es, r.alarms)
	}
	// A silent device: a newer command supersedes the older, which stops being retried.
	r.broker.onPublish = nil
	r.clock.Add(20 * time.Second)
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.14, Inputs: fresh(42)})
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.2, Inputs: fresh(42)})
	before := len(r.broker.all())
	r.clock.Add(1100 * time.Millisecond)
	r.a.drain(context.Background())
	if got := len(r.broker.all()) - before; got != 1 {
		t.Fatalf("%d retries, want 1 (only the newest command is retried)", got)
	}
	var superseded bool
	for _, e := range r.ledger.all() {
		if e.Event == reading.EventTimeout && strings.HasPrefix(e.Detail, "superseded by") {
			superseded = true
		}
	}
	if !superseded {
		t.Fatal("the superseded command has no outcome entry")
	}
}

func TestLedgerDownNothingSent(t *testing.T) {
	r := newRig(t, pump())
	r.ledger.fail = true
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	if len(r.broker.all()) != 0 {
		t.Fatal("a command the ledger did not record was sent")
	}
	if len(r.alarms) != 1 || r.alarms[0].Code != "actuation_unavailable" {
		t.Fatalf("alarms %+v", r.alarms)
	}
}

func TestOperatorModes(t *testing.T) {
	r := newRig(t, pump())
	r.autoAck(true)
	ctx := context.Background()
	r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.1, Inputs: fresh(42)})
	if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeManual, 0.31, "token:op", "test"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("manual value above the maximum dose: %v", err)
	}
	if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", "sideways", 0, "token:op", ""); !errors.Is(err, ErrMode) {
		t.Fatalf("unknown mode: %v", err)
	}
	if _, err := r.a.SetMode(ctx, "PL1", "acid_pump", command.ModeLocked, 0, "token:op", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown actuator: %v", err)
	}
	rec, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeLocked, 0, "token:op", "maintenance")
	if err != nil || rec.Kind != command.KindMode {
		t.Fatal(err)
	}
	r.a.drain(ctx)
	last := r.broker.all()[len(r.broker.all())-1]
	m, _ := ParseMessage(last.payload)
	if m.Value != 0 {
		t.Fatalf("lock-out sent %g, want 0", m.Value)
	}
	if o := r.store.overrides["PL1/inhibitor_pump"]; o.Mode != command.ModeLocked || o.By != "token:op" {
		t.Fatalf("override not kept: %+v", o)
	}
	d := r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.3, Inputs: fresh(42)})
	if d["inhibitor_pump"].Value != 0 {
		t.Fatal("a locked-out pump followed its controller")
	}
	// Reconfiguring with the stored override keeps the lock-out.
	if err := r.a.Configure("PL1", "EN1", []Actuator{pump()}, []command.Override{{Plant: "PL1", Actuator: "inhibitor_pump", Mode: command.ModeLocked}}); err != nil {
		t.Fatal(err)
	}
	if d := r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.3, Inputs: fresh(42)}); d["inhibitor_pump"].Value != 0 {
		t.Fatal("lock-out lost on reconfiguration")
	}
	if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", command.ModeAuto, 0, "token:op", "done"); err != nil {
		t.Fatal(err)
	}
	if d := r.apply(t, 60, Request{Actuator: "inhibitor_pump", Value: 0.3, Inputs: fresh(42)}); d["inhibitor_pump"].Value != 0.06 {
		t.Fatalf("back in auto, rate limited from 0: %g, want 0.06", d["inhibitor_pump"].Value)
	}
	var modes []string
	for _, e := range r.ledger.all() {
		if e.Event == reading.EventMode {
			modes = append(modes, e.Mode)
		}
	}
	if strings.Join(modes, ",") != "locked,auto" {
		t.Fatalf("mode entries %v", modes)
	}
}

func TestSetpointInterlocks(t *testing.T) {
	ctx := context.Background()
	base := SetpointChange{Name: "cycles", Current: 5, Min: 3, Max: 8, MaxStep: 1, Drives: "inhibitor_pump", By: "token:op",
		Reason: "summer", Inputs: []reading.Input{{Name: "max_cycles", Value: 7.4}}}
	for _, c := range []struct {
		name       string
		mode       string // the driven actuator's mode
		value      float64
		err        error
		want       float64
		interlocks string
	}{
		{"within bounds and step", command.ModeAuto, 5.5, nil, 5.5, ""},
		{"above its bound: refused", command.ModeAuto, 9, store.ErrInvalid, 0, ""},
		{"below its bound: refused", command.ModeAuto, 2.9, store.ErrInvalid, 0, ""},
		{"not a number: refused", command.ModeAuto, math.NaN(), store.ErrInvalid, 0, ""},
		{"a larger step is limited", command.ModeAuto, 7.4, nil, 6, "rate"},
		{"downwards too", command.ModeAuto, 3, nil, 4, "rate"},
		{"driven actuator locked out: refused", command.ModeLocked, 5.5, store.ErrConflict, 0, ""},
		{"driven actuator in manual: recorded", command.ModeManual, 5.5, nil, 5.5, "manual"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, pump())
			if c.mode != command.ModeAuto {
				if _, err := r.a.SetMode(ctx, "PL1", "inhibitor_pump", c.mode, 0.1, "token:op", "maintenance"); err != nil {
					t.Fatal(err)
				}
			}
			before := len(r.ledger.all())
			ch := base
			ch.Value = c.value
			rec, err := r.a.ChangeSetpoint(ctx, "PL1", ch)
			es := r.ledger.all()[before:]
			if c.err != nil {
				if !errors.Is(err, c.err) || len(es) != 0 {
					t.Fatalf("error %v (want %v), ledger %+v", err, c.err, es)
				}
				return
			}
			if err != nil || rec.Status != command.Logged || rec.Value != c.want || strings.Join(rec.Interlocks, ",") != c.interlocks {
				t.Fatalf("record %+v, %v", rec, err)
			}
			if len(es) != 1 || es[0].Event != reading.EventSetpoint || es[0].Value != c.want || es[0].Max != 8 ||
				strings.Join(es[0].Interlocks, ",") != c.interlocks || len(es[0].Inputs) != 1 || es[0].Inputs[0].Value != 7.4 {
				t.Fatalf("ledger %+v", es)
			}
			if (c.want != c.value) != es[0].HasRequested || c.want != c.value && es[0].Requested != c.value {
				t.Fatalf("requested value not kept: %+v", es[0])
			}
		})
	}
}

func TestParseAck(t *testing.T) {
	good := []string{`{"id":"C1","ok":true}`, `{"id":"C1","ok":false,"detail":"valve jammed"}`}
	for _, s := range good {
		if _, err := ParseAck([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{``, `{}`, `{"id":"C1"}`, `{"ok":true}`, `{"id":"","ok":true}`, `{"id":"C1","ok":true,"x":1}`,
		`{"id":"C1","ok":true}{}`, `[1]`, `{"id":"C1","ok":"yes"}`, strings.Repeat(" ", MaxAckSize+1)}
	for _, s := range bad {
		if _, err := ParseAck([]byte(s)); err == nil {
			t.Errorf("%q: accepted", s)
		}
	}
	a, _ := ParseAck([]byte(`{"id":"C1","ok":true,"detail":"  line\nbreak\u0000 "}`))
	if a.Detail != "line break" {
		t.Errorf("detail %q not folded to one line", a.Detail)
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add([]byte(`{"id":"C1","ok":true,"detail":"applied"}`))
	f.Add([]byte(`{"id":"C1","ok":false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAck(data)
		if err != nil {
			return
		}
		if a.ID == "" || strings.ContainsAny(a.Detail, "\n\r") || len(a.Detail) > 256 {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func TestRunLoop(t *testing.T) {
	r := newRig(t, pump())
	r.autoAck(true)
	ctx, cancel := context.WithCancel(context.Background())
	go r.a.Run(ctx)
	if _, err := r.a.Apply(ctx, "PL1", []Request{{Actuator: "inhibitor_pump", Value: 0.2, Inputs: fresh(40)}}, 60); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.ledger.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-r.a.Done()
	if es := r.ledger.all(); len(es) != 2 || es[1].Event != reading.EventAck {
		t.Fatalf("ledger %+v", es)
	}
}
