package ingest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// testGateway signs readings of legacy devices for its meters.
type testGateway struct {
	id     string
	vkey   string
	signer note.Signer
	seq    map[string]uint64
	prev   map[string]reading.Hash
}

func newTestGateway(t testing.TB, dir *Directory, id string) *testGateway {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	if err := dir.PutGateway(meter.Gateway{ID: id, Key: vkey}); err != nil {
		t.Fatal(err)
	}
	return &testGateway{id: id, vkey: vkey, signer: s, seq: map[string]uint64{}, prev: map[string]reading.Hash{}}
}

// putGatewayMeter registers a meter signed by gateway gw.
func putGatewayMeter(t testing.TB, dir *Directory, id, gw string) {
	t.Helper()
	total, _ := meter.StandardChannel("total_m3")
	p := meter.Point{ID: "P-" + id, Enterprise: "E1", Level: 1, Stage: meter.StageUse, Channels: []meter.Channel{total}}
	if err := dir.Put(meter.Meter{ID: id, Point: p.ID, Signed: meter.SignedByGateway, Gateway: gw}, p, "E1"); err != nil {
		t.Fatal(err)
	}
}

func (g *testGateway) next(t testing.TB, meterID string, total float64, frame string) []byte {
	t.Helper()
	g.seq[meterID]++
	r := &reading.Reading{Meter: meterID, Seq: g.seq[meterID], Time: t0, Prev: g.prev[meterID], Point: "P-" + meterID,
		Values: []reading.Value{{Channel: "total_m3", Value: total}},
		Via:    &reading.Via{Gateway: g.id, Protocol: "hj212", Device: "88888880000001", Frame: reading.FrameHash([]byte(frame))}}
	msg, err := reading.SignGateway(r, g.signer)
	if err != nil {
		t.Fatal(err)
	}
	g.prev[meterID] = reading.HashOf(msg)
	return msg
}

func TestPipelineGatewaySigned(t *testing.T) {
	p, l, s, dir := newTestPipeline(t)
	gw := newTestGateway(t, dir, "GW-1")
	other := newTestGateway(t, dir, "GW-2")
	putGatewayMeter(t, dir, "V-1", "GW-1")
	newTestMeter(t, dir, "M-1")

	for i := range 3 {
		if res := submitWait(p, gw.next(t, "V-1", float64(i), "frame"), ""); res.Reject != nil || res.Flags != 0 {
			t.Fatalf("gateway reading %d: %+v", i, res.Reject)
		}
	}
	if s.readings["V-1/3"].Seq != 3 || len(l.entries) != 3 {
		t.Fatalf("stored %d readings, ledger %d entries", len(s.readings), len(l.entries))
	}
	// Another gateway may not sign for V-1; GW-1 may not sign for a native meter.
	other.seq["V-1"] = 3
	if res := submitWait(p, other.next(t, "V-1", 9, "x"), ""); res.Reject == nil || res.Reject.Reason != ReasonWrongGateway {
		t.Fatalf("other gateway's reading: %+v", res)
	}
	gw.seq["M-1"] = 0
	r := &reading.Reading{Meter: "M-1", Seq: 1, Time: t0, Point: "P-M-1", Values: []reading.Value{{Channel: "total_m3", Value: 1}},
		Via: &reading.Via{Gateway: "GW-1", Protocol: "hj212", Device: "D", Frame: reading.FrameHash([]byte("y"))}}
	msg, _ := reading.SignGateway(r, gw.signer)
	if res := submitWait(p, msg, ""); res.Reject == nil || res.Reject.Reason != ReasonWrongGateway {
		t.Fatalf("gateway reading of a native meter: %+v", res)
	}
	// A meter-signed reading of a gateway meter is refused too.
	plain := &reading.Reading{Meter: "V-1", Seq: 11, Time: t0, Point: "P-V-1", Values: []reading.Value{{Channel: "total_m3", Value: 1}}}
	text := []byte(plain.Text() + "\n— meter/V-1 AAAA\n")
	if res := submitWait(p, text, ""); res.Reject == nil || res.Reject.Reason != ReasonWrongGateway {
		t.Fatalf("meter-signed reading of a gateway meter: %+v", res)
	}
	// A forged gateway signature.
	forged := gw.next(t, "V-1", 5, "f")
	forged[len(forged)-5] ^= 1
	if res := submitWait(p, forged, ""); res.Reject == nil || res.Reject.Reason != ReasonBadSignature {
		t.Fatalf("forged: %+v", res)
	}
	gw.seq["V-1"]--
	// Revoking the gateway refuses its later readings.
	dir.RevokeGateway("GW-1")
	if res := submitWait(p, gw.next(t, "V-1", 6, "g"), ""); res.Reject == nil || res.Reject.Reason != ReasonRevokedKey {
		t.Fatalf("after revocation: %+v", res)
	}
}

// TestPipelineGatewayKeyEntryOrdersReadings: a gateway reading checked
// before the gateway's revocation was applied, but sequenced after it, is
// refused.
func TestPipelineGatewayKeyEntryOrdersReadings(t *testing.T) {
	dir := NewDirectory()
	l, s := &memLedger{gate: make(chan struct{})}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Now: func() time.Time { return t0 }, Linger: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gw := newTestGateway(t, dir, "GW-1")
	putGatewayMeter(t, dir, "V-1", "GW-1")
	ke := &reading.KeyEntry{Action: reading.ActionRevoke, Gateway: "GW-1", Time: t0}
	entryDone := make(chan error, 1)
	go func() {
		_, err := p.SubmitEntry(context.Background(), Entry{Raw: []byte(ke.Text()), Key: ke, Apply: func(context.Context, uint64) error {
			dir.RevokeGateway("GW-1")
			return nil
		}})
		entryDone <- err
	}()
	waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.waiting == 1 })
	ch := make(chan Result, 1)
	p.Submit(gw.next(t, "V-1", 1, "a"), "", "test", func(r Result) { ch <- r })
	time.Sleep(50 * time.Millisecond) // let the verifier check it against the unrevoked key
	close(l.gate)
	if err := <-entryDone; err != nil {
		t.Fatal(err)
	}
	if res := <-ch; res.Reject == nil || res.Reject.Reason != ReasonRevokedKey {
		t.Fatalf("reading sequenced after its gateway's revocation: %+v", res)
	}
}
