package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// forge flips a byte of a signed note's signature, keeping its key hash.
func forge(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(msg, []byte(" "))
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(msg[i+1:])))
	if err != nil {
		t.Fatal(err)
	}
	sig[10] ^= 1
	out := append([]byte{}, msg[:i+1]...)
	return append(append(out, base64.StdEncoding.EncodeToString(sig)...), '\n')
}

func TestEdgeChecker(t *testing.T) {
	dir := NewDirectory()
	m := newTestMeter(t, dir, "M1")
	c := NewEdgeChecker(dir)
	r := m.next(t, t0, 1)
	if key, rej := c.Check(r, "M1"); rej != nil || key != m.vkey {
		t.Fatalf("good reading: key %q, %v", key, rej)
	}
	for name, tc := range map[string]struct {
		raw    []byte
		device string
		reason string
	}{
		"forged":      {forge(t, r), "M1", ReasonBadSignature},
		"other meter": {r, "M2", ReasonWrongDevice},
		"garbage":     {[]byte("x"), "M1", ReasonMalformed},
	} {
		if _, rej := c.Check(tc.raw, tc.device); rej == nil || rej.Reason != tc.reason {
			t.Errorf("%s: %v, want %s", name, rej, tc.reason)
		}
	}
	dir.Revoke("M1")
	if _, rej := c.Check(m.next(t, t0, 2), "M1"); rej == nil || rej.Reason != ReasonRevokedKey {
		t.Fatalf("revoked meter: %v", rej)
	}
}

func submitChecked(p *Pipeline, raw []byte, key string, at time.Time) Result {
	ch := make(chan Result, 1)
	p.SubmitChecked(raw, key, "bus:test", at, func(r Result) { ch <- r })
	return <-ch
}

// The sequencer skips only the signature check, and only for the key the
// meter still has; admission runs as for Submit.
func TestSubmitChecked(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	m := newTestMeter(t, dir, "M1")
	r1 := m.next(t, t0, 1)
	if res := submitChecked(p, r1, m.vkey, t0.Add(-time.Second)); res.Reject != nil || res.Index != 0 {
		t.Fatalf("checked reading: %+v", res)
	}
	s.mu.Lock()
	got := s.readings["M1/1"].Received
	s.mu.Unlock()
	if !got.Equal(t0.Add(-time.Second)) {
		t.Fatalf("stored receive time %v, want the edge's", got)
	}
	// Redelivered: the same index, no new entry.
	if res := submitChecked(p, r1, m.vkey, t0); !res.Duplicate || res.Index != 0 {
		t.Fatalf("redelivery: %+v", res)
	}
	// Checked at the edge with the current key: the signature is not
	// verified again (a forged one shows it).
	if res := submitChecked(p, forge(t, m.next(t, t0, 2)), m.vkey, t0); res.Reject != nil || res.Index != 1 {
		t.Fatalf("edge-checked reading: %+v", res)
	}
	// Checked with a key the meter no longer has: verified here.
	if res := submitChecked(p, forge(t, m.next(t, t0, 3)), "old key", t0); res.Reject == nil || res.Reject.Reason != ReasonBadSignature {
		t.Fatalf("reading checked with a stale key: %+v", res)
	}
	// Admission still runs: a replayed seq is refused.
	m2 := *m
	m2.seq = 0
	if res := submitChecked(p, m2.next(t, t0, 9), m.vkey, t0); res.Reject == nil || res.Reject.Reason != ReasonReplay {
		t.Fatalf("replay: %+v", res)
	}
	dir.Revoke("M1")
	if res := submitChecked(p, m.next(t, t0, 4), m.vkey, t0); res.Reject == nil || res.Reject.Reason != ReasonRevokedKey {
		t.Fatalf("revoked: %+v", res)
	}
	if len(l.entries) != 2 {
		t.Fatalf("ledger has %d entries, want 2", len(l.entries))
	}
}

// A reload (Put or PutGateway with the same key, as an edge's refresh
// does) keeps the key's verifier, and with it the table sigcheck built for
// it; a new key gets a new one.
func TestDirectoryReloadKeepsVerifier(t *testing.T) {
	dir := NewDirectory()
	m := newTestMeter(t, dir, "M1")
	verifierOf := func() note.Verifier {
		t.Helper()
		dev, _ := dir.Get("M1")
		nv, _ := note.NewVerifier(m.vkey)
		v, err := dev.verifier.Verifier(nv.Name(), nv.KeyHash())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := verifierOf()
	dev, _ := dir.Get("M1")
	p := meter.Point{ID: dev.Point, Enterprise: dev.Enterprise}
	if err := dir.Put(meter.Meter{ID: "M1", Point: dev.Point, Key: m.vkey}, p, dev.Enterprise); err != nil {
		t.Fatal(err)
	}
	if verifierOf() != first {
		t.Fatal("reloading the same key made a new verifier")
	}
	_, vkey2, _ := note.GenerateKey(rand.Reader, reading.KeyName("M1"))
	if err := dir.Put(meter.Meter{ID: "M1", Point: dev.Point, Key: vkey2}, p, dev.Enterprise); err != nil {
		t.Fatal(err)
	}
	m.vkey = vkey2
	if verifierOf() == first {
		t.Fatal("a new key kept the old verifier")
	}
}
