package sim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/reading"
)

func signN(t *testing.T, s *Store, c *Chain, n int, total float64) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < n; i++ {
		ts := time.Date(2026, 4, 15, 2, 0, i, 0, time.UTC)
		msg, seq, err := c.Next(ts, []reading.Value{{Channel: "total_m3", Value: total + float64(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Signed(c.Meter, seq, total+float64(i), ts, msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStoreContinuesChain: a store reopened after a snapshot, after a crash
// with only the journal, and with a torn journal line keeps every meter's
// seq, prev, totaliser and unacknowledged readings.
func TestStoreContinuesChain(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	secret := append([]byte(nil), s.Secret()...)
	if info, err := os.Stat(filepath.Join(dir, secretFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", info, err)
	}
	skey, _, _ := MeterKey(secret, "HN-A")
	c, _ := NewChainFromKey("HN-A", "P-A", skey, 0, reading.Hash{})
	msgs := signN(t, s, c, 4, 100)
	s.Acked("HN-A", 1)
	s.Acked("HN-A", 2)
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, signN(t, s, c, 3, 200)...) // journal only
	// Simulate a crash: no Close. Append a torn line.
	f, _ := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("S HN-A 99 1.5 17000 AAAA")
	f.Close()

	s2, err := OpenStore(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	if string(s2.Secret()) != string(secret) {
		t.Fatal("secret changed")
	}
	st, ok := s2.Meter("HN-A")
	if !ok || st.Seq != 7 || st.Total != 202 {
		t.Fatalf("state %+v", st)
	}
	prev, err := st.PrevHash()
	if err != nil || prev != reading.HashOf(msgs[6]) {
		t.Fatalf("prev %v %v", prev, err)
	}
	if len(st.Pending) != 5 || string(st.Pending[0]) != string(msgs[2]) {
		t.Fatalf("pending %d", len(st.Pending))
	}
	// The next reading continues the chain.
	c2, _ := NewChainFromKey("HN-A", "P-A", skey, st.Seq, prev)
	next := signN(t, s2, c2, 1, 300)[0]
	r, _ := reading.Parse(next)
	if r.Seq != 8 || r.Prev != reading.HashOf(msgs[6]) {
		t.Fatalf("next %d prev %v", r.Seq, r.Prev)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir, 8); err == nil {
		t.Fatal("opened a state directory of another seed")
	}
	s3, err := OpenStore(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s3.Meter("HN-A"); st.Seq != 8 || len(st.Pending) != 6 {
		t.Fatalf("after close: %+v", st)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, journalFile)); len(raw) != 0 {
		t.Fatalf("journal not emptied by the snapshot: %d bytes", len(raw))
	}
	s3.Close()
}

func TestMemoryStore(t *testing.T) {
	a, b, c := MemoryStore(1), MemoryStore(1), MemoryStore(2)
	if string(a.Secret()) != string(b.Secret()) || string(a.Secret()) == string(c.Secret()) {
		t.Fatal("memory store secret is not a function of the seed")
	}
	if err := a.Signed("M", 1, 1, time.Now(), []byte("x")); err != nil || a.Sync() != nil || a.Snapshot() != nil || a.Close() != nil {
		t.Fatal("memory store operations")
	}
}

func FuzzParseJournalLine(f *testing.F) {
	skey, _, _ := MeterKey([]byte("fuzz"), "HN-F")
	c, _ := NewChainFromKey("HN-F", "P", skey, 0, reading.Hash{})
	msg, _, _ := c.Next(time.Unix(1700000000, 0), []reading.Value{{Channel: "total_m3", Value: 1.5}})
	f.Add([]byte(journalRecord{meter: "HN-F", seq: 1, total: 1.5, time: time.Unix(0, 17), msg: msg}.String()))
	f.Add([]byte("S HN-F 1 1.5 17 AAAA"))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := parseJournalLine(line)
		if err != nil {
			return
		}
		again, err := parseJournalLine([]byte(rec.String()))
		if err != nil || again.String() != rec.String() {
			t.Fatalf("%q → %q: %v", line, rec.String(), err)
		}
	})
}
