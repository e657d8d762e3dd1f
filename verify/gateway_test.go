package verify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// TestAuditGatewaySigned: readings a registered gateway signs for its
// meters pass and are counted per gateway; a gateway signing for a meter
// it does not sign for, and a gateway after its revocation, are problems;
// CheckFrames finds each reading's raw frame or says it is missing.
func TestAuditGatewaySigned(t *testing.T) {
	k := newTestKeys(t, "test.example/gw", 0)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sign := func(ke *reading.KeyEntry) []byte {
		msg, err := note.Sign(&note.Note{Text: ke.Text()}, k.logSigner)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	gateway := func(id string) (note.Signer, string) {
		skey, vkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName(id))
		s, _ := note.NewSigner(skey)
		return s, vkey
	}
	g1, v1 := gateway("GW-1")
	g2, v2 := gateway("GW-2")
	var seq uint64
	var prev reading.Hash
	frames := map[string][]byte{}
	read := func(g note.Signer, gw string, raw string) []byte {
		seq++
		r := &reading.Reading{Meter: "V-1", Seq: seq, Prev: prev, Point: "P-1", Time: at.Add(time.Duration(seq) * time.Minute),
			Values: []reading.Value{{Channel: "interval_m3", Value: 1, Text: "1"}},
			Via:    &reading.Via{Gateway: gw, Protocol: "hj212", Device: "88888880000001", Frame: reading.FrameHash([]byte(raw))}}
		msg, err := reading.SignGateway(r, g)
		if err != nil {
			t.Fatal(err)
		}
		prev = reading.HashOf(msg)
		frames[raw] = msg
		return msg
	}
	entries := [][]byte{
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Gateway: "GW-1", Key: v1, Time: at}),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Gateway: "GW-2", Key: v2, Time: at}),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Meter: "V-1", Point: "P-1", Signed: "gateway", Gateway: "GW-1", Time: at}),
		read(g1, "GW-1", "frame 1"), // 3
		read(g1, "GW-1", "frame 2"), // 4
		read(g2, "GW-2", "frame 3"), // 5: GW-2 does not sign for V-1
		sign(&reading.KeyEntry{Action: reading.ActionRevoke, Gateway: "GW-1", Time: at}),
		read(g1, "GW-1", "frame 4"), // 7: after revocation
	}
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	f, err := NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), f, AuditOptions{LogKey: k.logKey, Workers: 1, CollectFrames: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.GatewaySigned != 2 || rep.MeterSigned != 0 || len(rep.Gateways) != 1 || rep.Gateways[0].Gateway != "GW-1" ||
		rep.Gateways[0].Readings != 2 || !rep.Gateways[0].Revoked || len(rep.Framed) != 2 {
		t.Fatalf("report: signed %d/%d, gateways %+v, framed %d", rep.GatewaySigned, rep.MeterSigned, rep.Gateways, len(rep.Framed))
	}
	if rep.ProblemCount != 2 || rep.Problems[0].Index != 5 || rep.Problems[0].Kind != ProblemGateway || rep.Problems[1].Index != 7 {
		t.Fatalf("problems: %+v", rep.Problems)
	}
	// The archive holds frame 1 only (and a torn last line).
	line, _ := json.Marshal(reading.FrameRecord{SHA256: reading.FrameHash([]byte("frame 1")).String(), Protocol: "hj212",
		Device: "88888880000001", Gateway: "GW-1", Raw: []byte("frame 1"), Readings: []reading.FrameReading{{Meter: "V-1", Seq: 1}}})
	fsys := fstest.MapFS{"frames-2026-11-01.jsonl": {Data: append(append(line, '\n'), []byte(`{"sha256":"tor`)...)}}
	fr, err := CheckFrames(rep.Framed, []fs.FS{fsys}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Records != 1 || fr.Checked != 1 || fr.Missing != 1 || fr.Mismatch != 0 || fr.Problems[0].Seq != 2 {
		t.Fatalf("frames: %+v", fr)
	}
	// A record whose raw bytes were altered no longer hashes to its name.
	bad, _ := json.Marshal(reading.FrameRecord{SHA256: reading.FrameHash([]byte("frame 1")).String(), Raw: []byte("frame 1!")})
	if _, err := CheckFrames(rep.Framed, []fs.FS{fstest.MapFS{"frames-2026-11-01.jsonl": {Data: append(append(bad, '\n'), line...)}}}, nil, 0); err == nil {
		t.Fatal("altered frame accepted")
	}
}
