package verify

import (
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
	sign := func(ke *reading.KeyEntry) []byte { return k.keyEntry(t, ke) }
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	old, behind := newTestMeter(t, "M-1"), newTestMeter(t, "M-2")
	entries := [][]byte{
		k.register(t, old),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Gateway: "C-1", Key: gkey, Time: at}),
		sign(&reading.KeyEntry{Action: reading.ActionRegister, Meter: "M-2", Point: "P-1", Key: behind.vkey, Signed: "meter", Collector: "C-1", Time: at}),
		old.next(t), behind.next(t), behind.next(t), old.next(t),
	}
	rep := auditEntries(t, k, entries)
	if rep.ProblemCount != 0 || rep.MeterSigned != 4 {
		t.Fatalf("audit: %d meter-signed readings, problems %+v", rep.MeterSigned, rep.Problems)
	}
}

// TestAuditCollectorRegistered: a meter registration naming a data
// collector passes only if that collector is a gateway registered, and not
// revoked, earlier in the log; otherwise the entry is a bad-key-entry
// problem, and the meter's readings are still checked with its own key.
func TestAuditCollectorRegistered(t *testing.T) {
	k := newTestKeys(t, "test.example/collector", 0)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sign := func(ke *reading.KeyEntry) []byte { return k.keyEntry(t, ke) }
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	gateway := sign(&reading.KeyEntry{Action: reading.ActionRegister, Gateway: "C-1", Key: gkey, Time: at})
	revoke := sign(&reading.KeyEntry{Action: reading.ActionRevoke, Gateway: "C-1", Time: at, Reason: "retired"})
	for _, tc := range []struct {
		name   string
		before [][]byte // entries before the meter's registration
		after  [][]byte // entries after it
		want   string   // the problem's detail; empty: none
	}{
		{"registered", [][]byte{gateway}, nil, ""},
		{"revoked after the meter", [][]byte{gateway}, [][]byte{revoke}, ""},
		{"unknown", nil, nil, "collector C-1 has no key registered before this entry"},
		{"registered after the meter", nil, [][]byte{gateway}, "collector C-1 has no key registered before this entry"},
		{"revoked", [][]byte{gateway, revoke}, nil, "the key of collector C-1 was revoked before this entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMeter(t, "M-2")
			entries := append([][]byte{}, tc.before...)
			entries = append(entries, sign(&reading.KeyEntry{Action: reading.ActionRegister, Meter: "M-2", Point: "P-1", Key: m.vkey, Signed: "meter", Collector: "C-1", Time: at}))
			entries = append(entries, tc.after...)
			entries = append(entries, m.next(t), m.next(t))
			rep := auditEntries(t, k, entries)
			if rep.MeterSigned != 2 {
				t.Errorf("%d meter-signed readings, want 2", rep.MeterSigned)
			}
			switch {
			case tc.want == "" && rep.Failed(false):
				t.Fatalf("audit failed: %+v", rep.Problems)
			case tc.want != "" && (rep.ProblemCount != 1 || rep.Problems[0].Kind != ProblemKeyEntry || rep.Problems[0].Detail != tc.want ||
				rep.Problems[0].Index != uint64(len(tc.before)) || rep.Problems[0].Meter != "M-2"):
				t.Fatalf("problems %+v, want one %s at index %d: %s", rep.Problems, ProblemKeyEntry, len(tc.before), tc.want)
			}
		})
	}
}
