package ingest

import (
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// newCollectedMeter registers a meter that signs its own readings behind
// data collector collector ("" for none).
func newCollectedMeter(t testing.TB, dir *Directory, id, collector string) *testMeter {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	p := meter.Point{ID: "P-" + id, Enterprise: "E1", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}
	if err := dir.Put(meter.Meter{ID: id, Point: p.ID, Key: vkey, Collector: collector}, p, "E1"); err != nil {
		t.Fatal(err)
	}
	return &testMeter{id: id, vkey: vkey, signer: s}
}

// TestPipelineCollector: a data collector forwards the meter-signed
// readings of the meters registered behind it, and only theirs; the
// reading keeps its meter's trust, seq and chain, and the meter may still
// send its own.
func TestPipelineCollector(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	newTestGateway(t, dir, "C-1")
	newTestGateway(t, dir, "C-2")
	m1 := newCollectedMeter(t, dir, "M-1", "C-1")
	m2 := newCollectedMeter(t, dir, "M-2", "C-2")
	loose := newCollectedMeter(t, dir, "M-3", "")

	for i := range 2 {
		if res := submitWait(p, m1.next(t, t0, float64(i)), "C-1"); res.Reject != nil || res.Seq != uint64(i+1) {
			t.Fatalf("reading %d through its collector: %+v", i, res)
		}
	}
	if res := submitWait(p, m1.next(t, t0, 2), "M-1"); res.Reject != nil {
		t.Fatalf("the meter itself: %+v", res.Reject)
	}
	if s.readings["M-1/3"].Seq != 3 || len(l.entries) != 3 {
		t.Fatalf("stored %d readings, ledger %d entries", len(s.readings), len(l.entries))
	}
	for name, tc := range map[string]struct {
		raw    []byte
		sender string
	}{
		"a meter behind another collector": {m2.next(t, t0, 1), "C-1"},
		"a meter behind no collector":      {loose.next(t, t0, 1), "C-1"},
		"an unregistered meter":            {newTestMeter(t, NewDirectory(), "M-9").next(t, t0, 1), "C-1"},
		"a meter's collector, not a meter": {m1.next(t, t0, 3), "M-2"},
	} {
		res := submitWait(p, tc.raw, tc.sender)
		if res.Reject == nil || res.Reject.Reason != ReasonWrongDevice || res.Reject.Meter != tc.sender {
			t.Errorf("%s: %+v, want %s recorded against %s", name, res.Reject, ReasonWrongDevice, tc.sender)
		}
	}
	// The refusals are counted like any other (the store's rejection log).
	if n := len(s.rejections); n != 4 {
		t.Errorf("%d rejections recorded, want 4", n)
	}
}

// TestEdgeCheckerCollector: a bus-mode edge applies the same rule.
func TestEdgeCheckerCollector(t *testing.T) {
	dir := NewDirectory()
	newTestGateway(t, dir, "C-1")
	m1 := newCollectedMeter(t, dir, "M-1", "C-1")
	m2 := newCollectedMeter(t, dir, "M-2", "C-2")
	c := NewEdgeChecker(dir)
	if key, rej := c.Check(m1.next(t, t0, 1), "C-1"); rej != nil || key != m1.vkey {
		t.Fatalf("through its collector: key %q, %v", key, rej)
	}
	if _, rej := c.Check(m2.next(t, t0, 1), "C-1"); rej == nil || rej.Reason != ReasonWrongDevice {
		t.Fatalf("a meter behind another collector: %v", rej)
	}
	if _, rej := c.Check(forge(t, m1.next(t, t0, 2)), "C-1"); rej == nil || rej.Reason != ReasonBadSignature {
		t.Fatalf("a forged reading through the collector: %v", rej)
	}
}
