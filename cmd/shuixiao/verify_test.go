package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/reading"
)

// cmdLedger is a witnessed ledger built for the command tests.
type cmdLedger struct {
	dir, logKeyFile, policyFile, meterKey string
	log                                   *ledger.Log
	size                                  uint64
}

// run runs `shuixiao verify …` in-process.
func runVerifyCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := verifyMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// startWitnessCmd runs `shuixiao witness` in-process and returns its vkey
// and URL.
func startWitnessCmd(t *testing.T, logKeyFile string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var keyOut, keyErr bytes.Buffer
	if code := runWitnessKey([]string{"--data", dir, "--name", "witness.test/cmd"}, &keyOut, &keyErr); code != 0 {
		t.Fatalf("witness key: %d %s", code, keyErr.String())
	}
	vkey := strings.TrimSpace(keyOut.String())
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		done <- serveWitness(ctx, []string{"--data", dir, "--http", "127.0.0.1:0", "--log-key", logKeyFile}, &out, os.Stderr, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("witness exited with %d", code)
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("witness exit %d", code)
		}
	})
	if !strings.Contains(out.String(), vkey) {
		t.Fatalf("witness did not print its key %s:\n%s", vkey, out.String())
	}
	return vkey, "http://" + addr
}

func newCmdLedger(t *testing.T) *cmdLedger {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	// The log key must exist before the witness starts: open once without witnesses.
	l, err := ledger.Open(ctx, ledger.Options{Dir: dir, Origin: "cmd.test/ledger", CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.Close(ctx)
	c := &cmdLedger{dir: dir, logKeyFile: filepath.Join(dir, "log.vkey")}
	wkey, wurl := startWitnessCmd(t, c.logKeyFile)
	c.policyFile = filepath.Join(t.TempDir(), "policy")
	os.WriteFile(c.policyFile, []byte(fmt.Sprintf("witness w1 %s %s\nquorum w1\n", wkey, wurl)), 0o644)
	pol, _ := os.ReadFile(c.policyFile)
	c.log, err = ledger.Open(ctx, ledger.Options{Dir: dir, CheckpointInterval: 100 * time.Millisecond, WitnessPolicy: pol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.log.Close(context.Background()) })

	skey, vkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("HN-CMD-1"))
	signer, _ := note.NewSigner(skey)
	c.meterKey = vkey
	ke := &reading.KeyEntry{Action: reading.ActionRegister, Meter: "HN-CMD-1", Key: vkey, Signed: "meter", Time: time.Now()}
	reg, err := c.log.SignNote(ke.Text())
	if err != nil {
		t.Fatal(err)
	}
	entries := [][]byte{reg}
	var prev reading.Hash
	for seq := uint64(1); seq <= 20; seq++ {
		if seq == 15 {
			prev = reading.Hash{1} // the meter lost reading 14: a gap
			continue
		}
		r := &reading.Reading{Meter: "HN-CMD-1", Seq: seq, Time: time.Now(), Prev: prev, Point: "P-1",
			Values: []reading.Value{{Channel: "total_m3", Text: fmt.Sprintf("%d.5", seq)}}}
		msg, err := reading.Sign(r, signer)
		if err != nil {
			t.Fatal(err)
		}
		prev = reading.HashOf(msg)
		entries = append(entries, msg)
	}
	if _, err := c.log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	c.size = uint64(len(entries))
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.log.AwaitPublished(actx, c.size-1); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyCommands(t *testing.T) {
	c := newCmdLedger(t)
	ctx := context.Background()
	tmp := t.TempDir()
	logDir := filepath.Join(c.dir, "log")

	// proof: a reading and a key entry.
	receipt, err := c.log.Proof(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	rf := filepath.Join(tmp, "r5.proof")
	os.WriteFile(rf, receipt, 0o644)
	code, out, errs := runVerifyCmd(t, "proof", rf, "--log-key", c.logKeyFile, "--witness-policy", c.policyFile, "--meter-key", c.meterKey)
	if code != 0 || !strings.Contains(out, "收据有效") || !strings.Contains(out, "HN-CMD-1") || !strings.Contains(out, "total_m3 = 5.5") || !strings.Contains(out, "witness.test/cmd cosigned") {
		t.Fatalf("proof: %d\n%s\n%s", code, out, errs)
	}
	keyReceipt, _ := c.log.Proof(ctx, 0)
	kf := filepath.Join(tmp, "k0.proof")
	os.WriteFile(kf, keyReceipt, 0o644)
	if code, out, errs := runVerifyCmd(t, "proof", "--log-key", c.logKeyFile, kf); code != 0 || !strings.Contains(out, "register meter HN-CMD-1") {
		t.Fatalf("key entry proof: %d\n%s\n%s", code, out, errs)
	}
	bad := bytes.Replace(receipt, []byte("index 5"), []byte("index 6"), 1)
	bf := filepath.Join(tmp, "bad.proof")
	os.WriteFile(bf, bad, 0o644)
	if code, _, errs := runVerifyCmd(t, "proof", bf, "--log-key", c.logKeyFile, "--meter-key", c.meterKey); code != 1 || !strings.Contains(errs, "收据无效") {
		t.Fatalf("altered proof: %d %s", code, errs)
	}
	if code, _, errs := runVerifyCmd(t, "proof", rf, "--log-key", c.logKeyFile); code != 1 || !strings.Contains(errs, "--meter-key") {
		t.Fatalf("proof without meter key: %d %s", code, errs)
	}
	if code, _, _ := runVerifyCmd(t, "proof", rf); code != 2 {
		t.Fatalf("proof without log key: %d", code)
	}

	// log: passes with the gap listed; --strict fails on it; --json parses.
	code, out, errs = runVerifyCmd(t, "log", logDir, "--log-key", c.logKeyFile, "--witness-policy", c.policyFile)
	if code != 0 || !strings.Contains(out, "通过 PASS, with gaps") || !strings.Contains(out, "meter HN-CMD-1 seq 16") {
		t.Fatalf("log: %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runVerifyCmd(t, "log", "--strict", logDir, "--log-key", c.logKeyFile); code != 1 {
		t.Fatalf("log --strict: %d", code)
	}
	code, out, _ = runVerifyCmd(t, "log", logDir, "--log-key", c.logKeyFile, "--json")
	var js struct {
		Entries  uint64 `json:"entries"`
		GapCount uint64 `json:"gap_count"`
		Failed   bool   `json:"failed"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != 0 || js.Entries != c.size || js.GapCount != 1 || js.Failed {
		t.Fatalf("log --json: %d %v\n%s", code, err, out)
	}

	// consistency with a state file: trust on first use, then growth.
	state := filepath.Join(tmp, "state")
	if code, out, errs := runVerifyCmd(t, "consistency", logDir, "--log-key", c.logKeyFile, "--state", state); code != 0 || !strings.Contains(out, "trust on first use") {
		t.Fatalf("consistency TOFU: %d\n%s\n%s", code, out, errs)
	}
	first, _ := os.ReadFile(state)
	if _, err := c.log.Append(ctx, [][]byte{[]byte("later entry")}); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c.log.AwaitPublished(actx, c.size)
	if code, out, errs := runVerifyCmd(t, "consistency", logDir, "--log-key", c.logKeyFile, "--witness-policy", c.policyFile, "--state", state); code != 0 || !strings.Contains(out, "一致 consistent") || !strings.Contains(out, "state updated") {
		t.Fatalf("consistency: %d\n%s\n%s", code, out, errs)
	}
	// The old state file replayed against the (now larger) state: a rollback.
	oldFile := filepath.Join(tmp, "old")
	os.WriteFile(oldFile, first, 0o644)
	// Auditing against the older checkpoint covers only its entries.
	code, out, _ = runVerifyCmd(t, "log", c.dir, "--log-key", c.logKeyFile, "--checkpoint", oldFile, "--json")
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != 0 || js.Entries != c.size {
		t.Fatalf("log --checkpoint: %d %v\n%s", code, err, out)
	}
	if code, _, errs := runVerifyCmd(t, "consistency", oldFile, "--log-key", c.logKeyFile, "--state", state, "--tiles", logDir); code != 1 || !strings.Contains(errs, "回退") {
		t.Fatalf("rollback: %d %s", code, errs)
	}

	// A forked checkpoint at the same size as the first one: SECURITY ERROR.
	text := strings.SplitN(string(first), "\n\n", 2)[0]
	lines := strings.Split(text, "\n")
	lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	forged, err := c.log.SignNote(strings.Join(lines, "\n") + "\n")
	if err == nil {
		t.Fatalf("the ledger signed a checkpoint-shaped note:\n%s", forged)
	}
	skey, _ := os.ReadFile(filepath.Join(c.dir, "log.key"))
	signer, _ := note.NewSigner(strings.TrimSpace(string(skey)))
	forged, _ = note.Sign(&note.Note{Text: strings.Join(lines, "\n") + "\n"}, signer)
	ff := filepath.Join(tmp, "forged")
	os.WriteFile(ff, forged, 0o644)
	code, out, errs = runVerifyCmd(t, "consistency", oldFile, ff, "--log-key", c.logKeyFile)
	if code != 1 || !strings.Contains(out, "SECURITY ERROR") || !strings.Contains(errs, "分叉") {
		t.Fatalf("fork: %d\n%s\n%s", code, out, errs)
	}
	report := filepath.Join(tmp, "fork.txt")
	os.WriteFile(report, []byte(out), 0o644)
	if code, out, errs := runVerifyCmd(t, "fork", report, "--log-key", c.logKeyFile); code != 0 || !strings.Contains(out, "fork proven") {
		t.Fatalf("verify fork: %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runVerifyCmd(t, "fork", oldFile, "--log-key", c.logKeyFile); code != 1 {
		t.Fatalf("verify fork on a checkpoint: %d", code)
	}
	if code, _, _ := runVerifyCmd(t, "nonsense"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
}

// TestVerifyProofKeyEntry: the receipt of a meter's key entry names the
// data collector behind which the meter is registered, and the gateway
// that signs a meter's readings; a gateway's own entry is named as one.
func TestVerifyProofKeyEntry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := ledger.Open(ctx, ledger.Options{Dir: dir, Origin: "cmd.test/keys", CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C-1"))
	_, mkey, _ := note.GenerateKey(rand.Reader, reading.KeyName("M-1"))
	_, mkey2, _ := note.GenerateKey(rand.Reader, reading.KeyName("M-2"))
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var entries [][]byte
	for _, ke := range []*reading.KeyEntry{
		{Action: reading.ActionRegister, Gateway: "C-1", Key: gkey, Enterprise: "E", Time: at},
		{Action: reading.ActionRegister, Meter: "M-1", Enterprise: "E", Point: "P-1", Key: mkey, Signed: "meter", Collector: "C-1", Time: at},
		{Action: reading.ActionRegister, Meter: "M-2", Enterprise: "E", Point: "P-1", Key: mkey2, Signed: "meter", Time: at},
		{Action: reading.ActionRegister, Meter: "M-3", Enterprise: "E", Point: "P-1", Signed: "gateway", Gateway: "C-1", Time: at},
	} {
		e, err := l.SignNote(ke.Text())
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if _, err := l.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := l.AwaitPublished(actx, uint64(len(entries)-1)); err != nil {
		t.Fatal(err)
	}
	collector := "采集器 collector:    C-1 (forwards the meter's own signed readings)"
	signer := "签名网关 gateway:    C-1 (signs the meter's readings)"
	for i, tc := range []struct{ want, not []string }{
		{[]string{"key entry:  register gateway C-1", "网关公钥 key:        " + gkey}, []string{collector, signer, "register meter"}},
		{[]string{"key entry:  register meter M-1", collector}, []string{signer}},
		{[]string{"key entry:  register meter M-2"}, []string{collector, signer}},
		{[]string{"key entry:  register meter M-3", signer}, []string{collector}},
	} {
		receipt, err := l.Proof(ctx, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("k%d.proof", i))
		must(t, os.WriteFile(f, receipt, 0o644))
		code, out, errs := runVerifyCmd(t, "proof", f, "--log-key", filepath.Join(dir, "log.vkey"))
		if code != 0 {
			t.Fatalf("entry %d: exit %d\n%s%s", i, code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("entry %d: no %q in\n%s", i, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("entry %d: %q in\n%s", i, w, out)
			}
		}
	}
}
