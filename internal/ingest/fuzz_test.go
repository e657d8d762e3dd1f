package ingest

import (
	"testing"
	"time"
)

// FuzzSubmit feeds arbitrary MQTT payloads through the whole check and
// admission path: whatever arrives, the answer is a result (an index or a
// rejection with a known reason), never a panic, and only payloads that
// verify reach the ledger.
func FuzzSubmit(f *testing.F) {
	dir := NewDirectory()
	m := newTestMeter(f, dir, "M1")
	f.Add(m.next(f, time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), 1))
	f.Add(m.next(f, time.Date(2026, 11, 28, 2, 1, 0, 0, time.UTC), 2))
	f.Add([]byte("hn-water-reading/v1\nmeter M1\n\n— meter/M1 AAAA\n"))
	f.Add([]byte{})
	reasons := map[string]bool{ReasonTooLarge: true, ReasonMalformed: true, ReasonUnknownMeter: true, ReasonRevokedKey: true,
		ReasonBadSignature: true, ReasonWrongDevice: true, ReasonPointMismatch: true, ReasonUnknownChannel: true,
		ReasonReplay: true, ReasonUnavailable: true, ReasonInvalid: true, ReasonSeqJump: true}
	l, s := &memLedger{}, newMemStore()
	p, err := New(Options{Ledger: l, Store: s, Directory: dir, Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(p.Close)
	f.Fuzz(func(t *testing.T, payload []byte) {
		before := len(l.entries)
		res := submitWait(p, payload, "M1")
		if res.Reject != nil {
			if !reasons[res.Reject.Reason] {
				t.Fatalf("unknown rejection reason %q", res.Reject.Reason)
			}
			l.mu.Lock()
			after := len(l.entries)
			l.mu.Unlock()
			if after != before {
				t.Fatalf("a rejected payload reached the ledger")
			}
		}
	})
}
