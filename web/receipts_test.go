package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
)

// The console verifies receipts in the browser (src/verify). Its unit tests
// check it against receipts made by the real ledger package and cosigned by
// a real witness, kept in receiptFixture. `go test ./web -run
// TestReceiptFixture -update` regenerates them; without -update this test
// checks that the Go verifier (package verify) still accepts every committed
// receipt and rejects the tampered one, so the Go and TypeScript verifiers
// are held to the same files.
var update = flag.Bool("update", false, "regenerate "+receiptFixture+" with the ledger package")

const receiptFixture = "src/verify/testdata/ledger-receipts.json"

// fixture is the JSON the Vitest suite reads (src/verify/ledger.test.ts).
type fixture struct {
	Comment   string            `json:"comment"`
	LogKey    string            `json:"log_key"`
	Witnesses []string          `json:"witnesses"` // cosignature/v1 verifier keys
	K         int               `json:"k"`
	MeterKeys map[string]string `json:"meter_keys"`
	Receipts  []fixtureReceipt  `json:"receipts"`
}

type fixtureReceipt struct {
	Index   uint64 `json:"index"`
	Kind    string `json:"kind"` // "reading" or "key"
	Meter   string `json:"meter"`
	Seq     uint64 `json:"seq,omitempty"`
	Receipt string `json:"receipt"`
}

func TestReceiptFixture(t *testing.T) {
	if *update {
		generateFixture(t)
	}
	data, err := os.ReadFile(receiptFixture)
	if err != nil {
		t.Fatalf("read %s: %v (regenerate with -update)", receiptFixture, err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse %s: %v", receiptFixture, err)
	}
	logV, err := note.NewVerifier(f.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	policyText := ""
	for i, w := range f.Witnesses {
		policyText += fmt.Sprintf("witness w%d %s\n", i, w)
	}
	policyText += "group g " + strconv.Itoa(f.K)
	for i := range f.Witnesses {
		policyText += fmt.Sprintf(" w%d", i)
	}
	policyText += "\nquorum g\n"
	policy, err := verify.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Receipts) < 4 {
		t.Fatalf("only %d receipts in the fixture", len(f.Receipts))
	}
	for _, r := range f.Receipts {
		t.Run(fmt.Sprintf("%s-%d", r.Kind, r.Index), func(t *testing.T) {
			keys := verify.ReceiptKeys{Log: logV, Policy: policy}
			if r.Kind == "reading" {
				if keys.Meter, err = note.NewVerifier(f.MeterKeys[r.Meter]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := verify.VerifyReceipt([]byte(r.Receipt), keys)
			if err != nil {
				t.Fatalf("Go verifier rejects the fixture: %v", err)
			}
			if got.Index != r.Index {
				t.Errorf("index %d, want %d", got.Index, r.Index)
			}
			// The same receipt with one digit of the reading changed must fail.
			tampered := bytes.Replace([]byte(r.Receipt), []byte("index "), []byte("index 1"), 1)
			if _, err := verify.VerifyReceipt(tampered, keys); err == nil {
				t.Error("Go verifier accepts a receipt with a changed index")
			}
		})
	}
}

// generateFixture runs a real ledger with one witness, appends key entries
// and signed readings of two meters, and writes receipts for a spread of
// indices (first, last, left and right subtrees, key entries).
func generateFixture(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	opts := ledger.Options{Dir: logDir, Origin: "fixture.shuixiao.test/ledger", CheckpointInterval: 100 * time.Millisecond}

	// The witness must know the log key, which the first Open generates.
	l, err := ledger.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	logKey := l.VerifierKey()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := ledger.OpenWitness(ctx, ledger.WitnessOptions{Dir: filepath.Join(dir, "w1"), Name: "witness.fixture.test/w1", LogKeys: []string{logKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	opts.WitnessPolicy = []byte(fmt.Sprintf("log %s\nwitness w1 %s %s\nquorum w1\n", logKey, w.VerifierKey(), srv.URL))
	if l, err = ledger.Open(ctx, opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)

	f := fixture{
		Comment:   "Receipts from package ledger with one witness; regenerate with: go test ./web -run TestReceiptFixture -update",
		LogKey:    logKey,
		Witnesses: []string{w.VerifierKey()},
		K:         1,
		MeterKeys: map[string]string{},
	}
	type meterState struct {
		signer note.Signer
		seq    uint64
		prev   reading.Hash
		total  float64
	}
	meters := map[string]*meterState{}
	var entries [][]byte
	var kinds []fixtureReceipt
	for _, id := range []string{"HN-430300-0001", "HN-430300-0002"} {
		skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		if err != nil {
			t.Fatal(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		meters[id] = &meterState{signer: s, total: 12345.678}
		f.MeterKeys[id] = vkey
		k := &reading.KeyEntry{Action: reading.ActionRegister, Meter: id, Enterprise: "E-430300-01", Point: "P-" + id,
			Key: vkey, Signed: "meter", Time: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}
		msg, err := l.SignNote(k.Text())
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, msg)
		kinds = append(kinds, fixtureReceipt{Kind: "key", Meter: id})
	}
	for i := 0; i < 21; i++ {
		id := "HN-430300-0001"
		if i%3 == 2 {
			id = "HN-430300-0002"
		}
		m := meters[id]
		m.seq++
		m.total += 1.125
		r := &reading.Reading{Meter: id, Seq: m.seq, Prev: m.prev, Point: "P-" + id,
			Time: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
			Values: []reading.Value{
				{Channel: "total_m3", Value: m.total, Text: strconv.FormatFloat(m.total, 'f', 3, 64)},
				{Channel: "flow_m3h", Value: 67.5, Text: "67.5"},
			}}
		msg, err := reading.Sign(r, m.signer)
		if err != nil {
			t.Fatal(err)
		}
		m.prev = reading.HashOf(msg)
		entries = append(entries, msg)
		kinds = append(kinds, fixtureReceipt{Kind: "reading", Meter: id, Seq: m.seq})
	}
	idx, err := l.Append(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	last := idx[0]
	for _, i := range idx {
		last = max(last, i)
	}
	if _, err := l.AwaitPublished(ctx, last); err != nil {
		t.Fatal(err)
	}
	for _, pick := range []int{0, 1, 2, 5, 12, 17, len(entries) - 1} {
		p, err := l.Proof(ctx, idx[pick])
		if err != nil {
			t.Fatal(err)
		}
		fr := kinds[pick]
		fr.Index = idx[pick]
		fr.Receipt = string(p)
		f.Receipts = append(f.Receipts, fr)
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(receiptFixture), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(receiptFixture, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
