package reading

import (
	"crypto/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func sampleCommand() *CommandEntry {
	return &CommandEntry{
		ID: "RW1-000123", Event: EventIssue, Plant: "PL-1", Enterprise: "EN-430300-001", Device: "HN-430300-001-BD",
		Command: "blowdown_valve", Value: 42.5, HasValue: true, Unit: "%", Requested: 55, HasRequested: true,
		Min: 0, Max: 100, HasBounds: true, Interlocks: []string{"rate"}, Source: SourceController, By: "cooling.blowdown",
		Reason:  "cycles 5.31 above set-point 5.00",
		Inputs:  []Input{{"basin_cond_us_cm", 2010.5}, {"makeup_cond_us_cm", 401.2}},
		Indices: []Input{{"lsi", 0.82}},
		Time:    time.Date(2026, 1, 15, 2, 32, 40, 104e6, time.UTC),
	}
}

func TestCommandEntryRoundTrip(t *testing.T) {
	for name, c := range map[string]*CommandEntry{
		"issue": sampleCommand(),
		"ack": {ID: "RW1-000123", Event: EventAck, Plant: "PL-1", Device: "HN-1", Command: "blowdown_valve",
			Detail: "applied 42.5 %", Attempts: 2, Time: time.Unix(1700000000, 5e6)},
		"setpoint": {ID: "RW1-000124", Event: EventSetpoint, Plant: "PL-1", Command: "cycles", Value: 5.5, HasValue: true,
			Min: 3, Max: 8, HasBounds: true, Source: SourceOperator, By: "token:ent-1", Reason: "summer load", Time: time.Unix(1700000000, 0)},
		"mode": {ID: "RW1-000125", Event: EventMode, Plant: "PL-1", Device: "HN-1", Command: "inhibitor_pump", Mode: "locked",
			Source: SourceOperator, By: "token:admin", Time: time.Unix(1700000000, 0)},
	} {
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := ParseCommandEntry([]byte(c.Text()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, c.Text())
		}
		got.Time, c.Time = got.Time.UTC(), c.Time.UTC()
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, got, c)
		}
		if Kind([]byte(c.Text())) != CommandHeader {
			t.Errorf("%s: Kind %q", name, Kind([]byte(c.Text())))
		}
	}
}

func TestCommandEntrySignedByLogKey(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "ledger.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	msg, err := note.Sign(&note.Note{Text: sampleCommand().Text()}, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCommandEntry(msg) // the whole signed note parses too
	if err != nil || c.Text() != n.Text {
		t.Fatalf("parse signed note: %v", err)
	}
}

func TestCommandEntryRejects(t *testing.T) {
	good := sampleCommand().Text()
	for name, text := range map[string]string{
		"unknown event":     strings.Replace(good, "event issue", "event explode", 1),
		"unknown field":     good + "color red\n",
		"duplicate":         good + "device X\n",
		"NaN value":         strings.Replace(good, "value 42.5", "value NaN", 1),
		"hex value":         strings.Replace(good, "value 42.5", "value 0x10", 1),
		"bad bounds":        strings.Replace(good, "bounds 0 100", "bounds 100 0", 1),
		"one bound":         strings.Replace(good, "bounds 0 100", "bounds 0", 1),
		"no time":           strings.Replace(good, "time ", "tim ", 1),
		"bad command":       strings.Replace(good, "command blowdown_valve", "command Blowdown Valve", 1),
		"issue no device":   strings.Replace(good, "device HN-430300-001-BD\n", "", 1),
		"issue no value":    strings.Replace(good, "value 42.5\n", "", 1),
		"bad source":        strings.Replace(good, "source controller", "source ghost", 1),
		"empty interlock":   strings.Replace(good, "interlock rate", "interlock rate,,max", 1),
		"bad input":         strings.Replace(good, "input basin_cond_us_cm 2010.5", "input basin_cond 20x", 1),
		"space in reason":   strings.Replace(good, "reason cycles", "reason  cycles", 1),
		"not terminated":    strings.TrimSuffix(good, "\n"),
		"negative attempt":  good[:len(good)-len("time 2026-01-15T02:32:40.104Z\n")] + "attempts -1\ntime 2026-01-15T02:32:40.104Z\n",
		"wrong header":      strings.Replace(good, CommandHeader, KeyHeader, 1),
		"mode without mode": strings.Replace(strings.Replace(good, "event issue", "event mode", 1), "value 42.5\n", "", 1),
	} {
		if _, err := ParseCommandEntry([]byte(text)); err == nil {
			t.Errorf("%s: accepted\n%s", name, text)
		}
	}
	big := sampleCommand()
	for i := 0; i < MaxCommandInputs; i++ {
		big.Inputs = append(big.Inputs, Input{"x", 1})
	}
	if big.Validate() == nil {
		t.Error("accepted more inputs than MaxCommandInputs")
	}
}

func TestCommandEntryBounds(t *testing.T) {
	c := sampleCommand()
	if !c.InBounds() {
		t.Fatal("42.5 in [0, 100] reported out of bounds")
	}
	c.Value = 100.0001
	if c.InBounds() {
		t.Fatal("100.0001 in [0, 100]")
	}
	c.HasBounds = false
	if !c.InBounds() {
		t.Fatal("no bounds must not fail")
	}
}

func FuzzParseCommandEntry(f *testing.F) {
	f.Add([]byte(sampleCommand().Text()))
	f.Add([]byte(CommandHeader + "\nid a\nevent ack\nplant p\ndevice d\ncommand c\ntime 2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCommandEntry(data)
		if err != nil {
			return
		}
		again, err := ParseCommandEntry([]byte(c.Text()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", c.Text(), err)
		}
		if again.Text() != c.Text() {
			t.Fatalf("unstable text %q vs %q", again.Text(), c.Text())
		}
	})
}

func BenchmarkParseCommandEntry(b *testing.B) {
	text := []byte(sampleCommand().Text())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommandEntry(text); err != nil {
			b.Fatal(err)
		}
	}
}
