package ingest

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestDirectoryHeapPerMeter bounds what the key directory keeps per meter.
// Every serve process holds a directory of all a province's meters; the
// bus sequencer, which checks no signature itself, kept about 3.3 KB per
// meter (each key's decoded point, a verifier map, a channel map): 1.6 GB
// for 500,000 meters, far past its soft memory limit, so the collector ran
// without pause and its CPU per reading grew with the number of meters
// (bench province: 29 µs per reading at 5,000 meters, 95 at 50,000, 251
// at 500,000). A meter whose readings are checked still decodes its key on
// the first one (sigcheck.Key).
func TestDirectoryHeapPerMeter(t *testing.T) {
	const n = 5000
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	ms := make([]meter.Meter, n)
	ps := make([]meter.Point, n)
	var signer note.Signer
	for i := range n {
		id := fmt.Sprintf("M%06d", i)
		skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if signer, err = note.NewSigner(skey); err != nil {
				t.Fatal(err)
			}
		}
		ps[i] = meter.Point{ID: "P" + id, Enterprise: "E", Name: id, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}
		ms[i] = meter.Meter{ID: id, Point: ps[i].ID, Key: vkey, Signed: meter.SignedByMeter}
	}
	heap := func() uint64 {
		runtime.GC()
		var st runtime.MemStats
		runtime.ReadMemStats(&st)
		return st.HeapAlloc
	}
	before := heap()
	d := NewDirectory()
	for i := range n {
		if err := d.Put(ms[i], ps[i], "E"); err != nil {
			t.Fatal(err)
		}
	}
	per := float64(heap()-before) / n
	runtime.KeepAlive(d)
	t.Logf("%.0f bytes per meter", per)
	if per > 1024 {
		t.Errorf("the directory keeps %.0f bytes per meter, want at most 1024", per)
	}

	// The shared maps and verifiers still check what they checked.
	dev, _ := d.Get(ms[0].ID)
	if dev.Channels["total_m3"] != total || dev.Channels["flow_m3h"] != flow || len(dev.Channels) != 2 {
		t.Errorf("channels of %s: %v", ms[0].ID, dev.Channels)
	}
	other, _ := d.Get(ms[1].ID)
	if _, err := other.verifier.Verifier(reading.KeyName(ms[0].ID), 0); err == nil {
		t.Error("a meter's verifiers answer for another meter's key")
	}
	msg, err := reading.Sign(&reading.Reading{Meter: ms[0].ID, Seq: 1, Point: ps[0].ID,
		Values: []reading.Value{{Channel: "total_m3", Value: 1}}}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, dev.verifier); err != nil {
		t.Errorf("own key: %v", err)
	}
	if _, err := note.Open(msg, other.verifier); err == nil {
		t.Error("a reading verifies with another meter's key")
	}
	// A character inside the signature (the last one before the padding
	// carries bits base64 decoding ignores).
	tampered := append([]byte(nil), msg...)
	tampered[len(tampered)-20] ^= 1
	if _, err := note.Open(tampered, dev.verifier); err == nil {
		t.Error("a tampered reading verifies")
	}
}
