package sim

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

func TestParseReceipt(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ok       bool
		seq, idx uint64
		rejected string
		flags    []string
	}{
		{"seq 5 index 1234", true, 5, 1234, "", nil},
		{"seq 5 index 1234 dup", true, 5, 1234, "", []string{"dup"}},
		{"seq 7 index 9 gap skew", true, 7, 9, "", []string{"gap", "skew"}},
		{"seq 8 rejected bad-signature", true, 8, 0, "bad-signature", nil},
		{"seq 8 rejected seq not growing", true, 8, 0, "seq not growing", nil},
		{"seq 8 rejected", false, 0, 0, "", nil},
		{"seq x index 1", false, 0, 0, "", nil},
		{"seq 1 index -1", false, 0, 0, "", nil},
		{"seq 1 accepted 3", false, 0, 0, "", nil},
		{"index 1 seq 2", false, 0, 0, "", nil},
		{"", false, 0, 0, "", nil},
	} {
		r, err := ParseReceipt("M", []byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if r.Seq != tc.seq || r.Index != tc.idx || r.Rejected != tc.rejected || len(r.Flags) != len(tc.flags) || r.Meter != "M" {
			t.Errorf("%q: %+v", tc.in, r)
		}
		for _, f := range tc.flags {
			if !r.Has(f) {
				t.Errorf("%q: flag %s missing", tc.in, f)
			}
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{"seq 5 index 1234 dup gap", "seq 8 rejected bad-signature", "seq 1 index 2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReceipt("M", data)
		if err != nil {
			return
		}
		if r.Rejected != "" && (r.Index != 0 || len(r.Flags) != 0) {
			t.Fatalf("receipt both admitted and rejected: %+v", r)
		}
		// What parses formats back to a receipt that parses the same.
		again, err := ParseReceipt("M", []byte(r.String()))
		if err != nil || again.String() != r.String() {
			t.Fatalf("round trip of %q: %q, %v", data, again.String(), err)
		}
	})
}

func TestChainAndKeys(t *testing.T) {
	secret := []byte("0123456789abcdef")
	s1, v1, err := MeterKey(secret, "HN-1")
	if err != nil {
		t.Fatal(err)
	}
	s2, v2, _ := MeterKey(secret, "HN-1")
	_, v3, _ := MeterKey(secret, "HN-2")
	_, v4, _ := MeterKey([]byte("another secret!!"), "HN-1")
	if s1 != s2 || v1 != v2 || v1 == v3 || v1 == v4 {
		t.Fatal("meter keys are not a deterministic function of (secret, meter)")
	}
	if _, _, err := MeterKey(secret, "bad id"); err == nil {
		t.Fatal("key for an invalid meter ID")
	}
	if MQTTPassword(secret, "HN-1") == MQTTPassword(secret, "HN-2") || MQTTPassword(secret, "HN-1") != MQTTPassword(secret, "HN-1") {
		t.Fatal("MQTT passwords")
	}
	c, err := NewChainFromKey("HN-1", "P-1", s1, 0, reading.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewChainFromKey("HN-2", "P-1", s1, 0, reading.Hash{}); err == nil {
		t.Fatal("chain accepted another meter's key")
	}
	v, _ := note.NewVerifier(v1)
	var prev reading.Hash
	t0 := time.Date(2026, 4, 15, 2, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		msg, seq, err := c.Next(t0.Add(time.Duration(i)*time.Second), []reading.Value{{Channel: "total_m3", Value: float64(i), Text: "1.000"}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		r, err := reading.Parse([]byte(n.Text))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) || r.Seq != seq || r.Prev != prev || r.Point != "P-1" {
			t.Fatalf("reading %d: seq %d prev %v", i, r.Seq, r.Prev)
		}
		prev = reading.HashOf(msg)
		if c.Prev() != prev || c.Seq() != seq {
			t.Fatal("chain did not advance")
		}
	}
	// SignAt leaves the chain alone.
	if _, err := c.SignAt(1, reading.Hash{}, t0, []reading.Value{{Channel: "total_m3", Value: 1}}); err != nil || c.Seq() != 3 {
		t.Fatal("SignAt moved the chain")
	}
}

// TestConnStoreAndForward publishes through a broker that goes down and
// comes back: every reading arrives once, in order, with its own time.
func TestConnStoreAndForward(t *testing.T) {
	f := newFakePlatform(t)
	secret := []byte("store-and-forward-secret")
	f.register(t, "HN-SF", "P-SF", "pw", secret)
	skey, _, _ := MeterKey(secret, "HN-SF")
	chain, err := NewChainFromKey("HN-SF", "P-SF", skey, 0, reading.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acks []uint64
	var receipts []Receipt
	conn := Dial(ConnConfig{Broker: f.addr, Username: "HN-SF", Password: "pw", AckTimeout: 5 * time.Second,
		OnAck: func(a Ack) {
			mu.Lock()
			acks = append(acks, a.Seq)
			mu.Unlock()
		},
		OnReceipt: func(r Receipt) {
			mu.Lock()
			receipts = append(receipts, r)
			mu.Unlock()
		}})
	defer conn.Close()
	send := func(n int) {
		for i := 0; i < n; i++ {
			ts := time.Now().Add(-time.Duration(n-i) * time.Second).Truncate(time.Millisecond)
			msg, seq, err := chain.Next(ts, []reading.Value{{Channel: "total_m3", Value: float64(seq0(chain)), Text: "1.000"}})
			if err != nil {
				t.Fatal(err)
			}
			conn.Send(Outgoing{Seq: seq, Time: ts, Note: msg})
		}
	}
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := conn.Flush(ctx); err != nil {
			t.Fatalf("flush: %v (stats %+v)", err, conn.Stats())
		}
	}
	send(5)
	flush()
	f.stopBroker()
	send(5) // buffered while the broker is down
	time.Sleep(300 * time.Millisecond)
	if st := conn.Stats(); st.Pending != 5 {
		t.Fatalf("pending while down: %+v", st)
	}
	downAt := time.Now()
	f.startBroker()
	flush()
	got := f.meterReadings("HN-SF")
	if len(got) != 10 {
		t.Fatalf("platform stored %d readings, want 10", len(got))
	}
	for i, r := range got {
		if r.r.Seq != uint64(i+1) || len(r.flags) != 0 {
			t.Errorf("stored #%d: seq %d flags %v", i, r.r.Seq, r.flags)
		}
		if i >= 5 && !r.r.Time.Before(downAt) {
			t.Errorf("backfilled seq %d carries time %v, not its original time", r.r.Seq, r.r.Time)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acks) != 10 {
		t.Errorf("%d acks", len(acks))
	}
	if st := conn.Stats(); st.Connects < 2 {
		t.Errorf("no reconnect: %+v", st)
	}
}

func seq0(c *Chain) uint64 { return c.Seq() }

func TestConnOutboxBound(t *testing.T) {
	c := Dial(ConnConfig{Broker: "127.0.0.1:1", Username: "HN-X", Outbox: 3})
	defer c.Close()
	for i := uint64(1); i <= 5; i++ {
		c.Send(Outgoing{Seq: i, Note: []byte{byte(i)}})
	}
	p := c.Pending()
	if len(p) != 3 || p[0].Seq != 3 || p[2].Seq != 5 || c.Stats().Dropped != 2 {
		t.Fatalf("outbox %+v stats %+v", p, c.Stats())
	}
}

// BenchmarkChainNext measures signing one reading (the device-side cost of
// every reading; bench ingest reuses Chain).
func BenchmarkChainNext(b *testing.B) {
	skey, _, _ := MeterKey([]byte("bench"), "HN-B")
	c, _ := NewChainFromKey("HN-B", "P-B", skey, 0, reading.Hash{})
	vals := []reading.Value{{Channel: "total_m3", Value: 123456.789, Text: "123456.789"}, {Channel: "flow_m3h", Value: 12.5, Text: "12.500"}}
	t0 := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Next(t0, vals); err != nil {
			b.Fatal(err)
		}
	}
}
