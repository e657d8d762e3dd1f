package verify

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// TestAuditCollector: a log whose meters are registered by key entries
// without a collector line (as every entry was before the field existed)
// and with one (a meter behind a data collector) audits clean, every
// reading checked against its meter's own key.
func TestAuditCollector(t *testing.T) {
	k := newTestKeys(t, "test.example/collector", 0)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sign := func(ke *reading.KeyEntry) []byte {
		t.Helper()
		msg, err := note.Sign(&note.Note{Text: ke.Text()}, k.logSigner)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	old, behind := newTestMeter(t, "M-1"), newTestMeter(t, "M-2")
	entries := [][]byte{
		k.register(t, old),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Gateway: "C-1", Key: gkey, Time: at}),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Meter: "M-2", Point: "P-1", Key: behind.vkey, Signed: "meter", Collector: "C-1", Time: at}),
		old.next(t), behind.next(t), behind.next(t), old.next(t),
	}
	dir := t.TempDir()
	k.writeTiles(t, dir, entries)
	f, err := NewFetcher(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), f, AuditOptions{LogKey: k.logKey, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProblemCount != 0 || rep.MeterSigned != 4 {
		t.Fatalf("audit: %d meter-signed readings, problems %+v", rep.MeterSigned, rep.Problems)
	}
}
