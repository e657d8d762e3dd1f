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

// heapAfterGC returns the bytes and objects on the heap after a collection.
func heapAfterGC() (uint64, uint64) {
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return st.HeapAlloc, st.HeapObjects
}

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
	before, objsBefore := heapAfterGC()
	d := NewDirectory()
	for i := range n {
		if err := d.Put(ms[i], ps[i], "E"); err != nil {
			t.Fatal(err)
		}
	}
	after, objsAfter := heapAfterGC()
	per, objs := float64(after-before)/n, float64(objsAfter-objsBefore)/n
	runtime.KeepAlive(d)
	t.Logf("%.0f bytes, %.2f objects per meter", per, objs)
	if per > 1024 {
		t.Errorf("the directory keeps %.0f bytes per meter, want at most 1024", per)
	}
	// What the collector marks: the meter's entry and its key's verifier
	// (the key inside it, the verifier's interface inside the entry), its
	// strings being the registry's. Each object more is one more for every
	// meter of a province at every collection.
	if objs > 2.1 {
		t.Errorf("the directory keeps %.2f objects per meter, want 2 (the entry and its key's verifier)", objs)
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

// TestDirectoryReload: putting a meter again as the directory holds it (an
// edge's refresh reads every meter of the registry every few seconds)
// keeps its entry, allocating nothing; any change of what the entry holds
// replaces it.
func TestDirectoryReload(t *testing.T) {
	total, _ := meter.StandardChannel("total_m3")
	_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName("M1"))
	if err != nil {
		t.Fatal(err)
	}
	_, vkey2, err := note.GenerateKey(rand.Reader, reading.KeyName("M1"))
	if err != nil {
		t.Fatal(err)
	}
	m := meter.Meter{ID: "M1", Point: "P1", Key: vkey, Signed: meter.SignedByMeter}
	p := meter.Point{ID: "P1", Enterprise: "E", Name: "P1", Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total}}
	d := NewDirectory()
	if err := d.Put(m, p, "E"); err != nil {
		t.Fatal(err)
	}
	first, _ := d.Get("M1")
	if allocs := testing.AllocsPerRun(10, func() {
		if err := d.Put(m, p, "E"); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("putting the same meter again allocates %.0f times, want 0", allocs)
	}
	if dev, _ := d.Get("M1"); dev != first {
		t.Error("putting the same meter again replaced its entry")
	}
	narrower := total
	narrower.Max = total.Max / 2
	for name, change := range map[string]func(m *meter.Meter, p *meter.Point, ent *string){
		"key":        func(m *meter.Meter, _ *meter.Point, _ *string) { m.Key = vkey2 },
		"revoked":    func(m *meter.Meter, _ *meter.Point, _ *string) { m.Revoked = true },
		"collector":  func(m *meter.Meter, _ *meter.Point, _ *string) { m.Collector = "C1" },
		"point":      func(m *meter.Meter, p *meter.Point, _ *string) { m.Point, p.ID = "P2", "P2" },
		"enterprise": func(_ *meter.Meter, _ *meter.Point, ent *string) { *ent = "E2" },
		"channel":    func(_ *meter.Meter, p *meter.Point, _ *string) { p.Channels = []meter.Channel{narrower} },
		"channels":   func(_ *meter.Meter, p *meter.Point, _ *string) { p.Channels = nil },
	} {
		m2, p2, ent := m, p, "E"
		change(&m2, &p2, &ent)
		if err := d.Put(m, p, "E"); err != nil { // back to the first
			t.Fatal(err)
		}
		before, _ := d.Get("M1")
		if err := d.Put(m2, p2, ent); err != nil {
			t.Fatal(err)
		}
		after, _ := d.Get("M1")
		if after == before || after.Key != m2.Key || after.Revoked != m2.Revoked || after.Collector != m2.Collector ||
			after.Point != m2.Point || after.Enterprise != ent || len(after.Channels) != len(p2.Channels) {
			t.Errorf("%s changed: the directory still holds %+v", name, *after)
		}
		if name == "channel" && after.Channels["total_m3"] != narrower {
			t.Errorf("channel changed: the directory holds %+v", after.Channels["total_m3"])
		}
	}
}
