package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/verify"
)

// TestReceiptRejectsEveryBitFlip takes a witnessed receipt and flips, one at
// a time, every bit of the file (hash lines, index, checkpoint and its
// signatures, the extra line carrying the reading) and every bit of the
// signed reading itself; the verifier must reject each variant.
func TestReceiptRejectsEveryBitFlip(t *testing.T) {
	w1, w2 := newTestWitness(t, "w1"), newTestWitness(t, "w2")
	dir := t.TempDir()
	logKey := logKeyFor(t, dir)
	w1.start(t, logKey)
	w2.start(t, logKey)
	opts := testOptions(dir)
	opts.WitnessPolicy = policy(2, w1, w2)
	l := openTestLog(t, opts)
	meters := newTestMeters(t, 3)
	all := populate(t, l, meters, 7) // 24 entries: a proof of several hashes
	const index = 13
	awaitSize(t, l, uint64(len(all)))
	receipt, err := l.Proof(context.Background(), index)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := verify.ParsePolicy(opts.WitnessPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var meterKey string
	for _, m := range meters {
		if bytes.Contains(all[index], []byte("meter "+m.id+"\n")) {
			meterKey = m.vkey
		}
	}
	keys := verify.ReceiptKeys{Log: mustVerifier(t, logKey), Policy: pol, Meter: mustVerifier(t, meterKey), Now: time.Now()}
	rec, err := verify.VerifyReceipt(receipt, keys)
	if err != nil {
		t.Fatalf("intact receipt: %v\n%s", err, receipt)
	}
	if rec.Reading == nil || len(rec.Checkpoint.Cosignatures) != 2 || rec.ProofHashes < 4 {
		t.Fatalf("receipt: %+v", rec)
	}

	// Variants: every bit of the file; every bit of the entry, re-encoded
	// canonically so that only the reading changes.
	var variants [][]byte
	for i := range receipt {
		for bit := 0; bit < 8; bit++ {
			v := bytes.Clone(receipt)
			v[i] ^= 1 << bit
			variants = append(variants, v)
		}
	}
	extra := "extra " + base64.StdEncoding.EncodeToString(all[index]) + "\n"
	if !strings.Contains(string(receipt), extra) {
		t.Fatal("receipt does not carry the entry in its extra line")
	}
	for i := range all[index] {
		for bit := 0; bit < 8; bit++ {
			e := bytes.Clone(all[index])
			e[i] ^= 1 << bit
			variants = append(variants, []byte(strings.Replace(string(receipt), extra, "extra "+base64.StdEncoding.EncodeToString(e)+"\n", 1)))
		}
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(variants) {
					return
				}
				if _, err := verify.VerifyReceipt(variants[i], keys); err == nil {
					if accepted.Add(1) <= 3 {
						t.Errorf("variant %d accepted:\n%s", i, variants[i])
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := accepted.Load(); n > 0 {
		t.Fatalf("%d of %d altered receipts accepted", n, len(variants))
	}
	t.Logf("%d altered receipts rejected", len(variants))

	// Wrong keys are rejected too.
	other := newTestMeter(t, "HN-OTHER")
	for name, k := range map[string]verify.ReceiptKeys{
		"other meter key":      {Log: keys.Log, Policy: pol, Meter: mustVerifier(t, other.vkey)},
		"no meter key":         {Log: keys.Log, Policy: pol},
		"meter key as log key": {Log: keys.Meter, Policy: pol, Meter: keys.Meter},
	} {
		if _, err := verify.VerifyReceipt(receipt, k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A policy that needs a third witness the receipt lacks.
	w3 := newTestWitness(t, "w3")
	pol3, _ := verify.ParsePolicy(policy(3, w1, w2, w3))
	if _, err := verify.VerifyReceipt(receipt, verify.ReceiptKeys{Log: keys.Log, Policy: pol3, Meter: keys.Meter}); err == nil {
		t.Error("receipt accepted under a 3-of-3 policy with two cosignatures")
	}
}
