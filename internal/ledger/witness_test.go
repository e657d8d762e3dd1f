package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/shuixiao/shuixiao/verify"
)

// testWitness is a witness behind an HTTP server that can be taken down.
type testWitness struct {
	name string
	dir  string
	vkey string
	srv  *httptest.Server
	w    atomic.Pointer[Witness]
	down atomic.Bool
}

// newTestWitness creates the witness's key and server; it answers 503 until
// start is called with the log key.
func newTestWitness(t *testing.T, name string) *testWitness {
	t.Helper()
	tw := &testWitness{name: name, dir: t.TempDir()}
	vkey, err := WitnessVerifierKey(tw.dir, "witness.test/"+name)
	if err != nil {
		t.Fatal(err)
	}
	tw.vkey = vkey
	tw.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := tw.w.Load()
		if w == nil || tw.down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		w.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		tw.srv.Close()
		if w := tw.w.Load(); w != nil {
			w.Close()
		}
	})
	return tw
}

func (tw *testWitness) start(t *testing.T, logKeys ...string) {
	t.Helper()
	w, err := OpenWitness(context.Background(), WitnessOptions{Dir: tw.dir, LogKeys: logKeys})
	if err != nil {
		t.Fatal(err)
	}
	if w.VerifierKey() != tw.vkey {
		t.Fatalf("witness key changed: %s vs %s", w.VerifierKey(), tw.vkey)
	}
	tw.w.Store(w)
}

// policy returns a policy requiring k of the witnesses.
func policy(k int, ws ...*testWitness) []byte {
	var b strings.Builder
	var names []string
	for _, w := range ws {
		fmt.Fprintf(&b, "witness %s %s %s\n", w.name, w.vkey, w.srv.URL)
		names = append(names, w.name)
	}
	fmt.Fprintf(&b, "group g %d %s\nquorum g\n", k, strings.Join(names, " "))
	return []byte(b.String())
}

// logKeyFor creates a log directory with its key and returns the vkey, so
// that witnesses can be configured before the log opens with a policy.
func logKeyFor(t testing.TB, dir string) string {
	t.Helper()
	kp, err := loadOrCreateKey(filepath.Join(dir, "log.key"), filepath.Join(dir, "log.vkey"), testOptions(dir).Origin, nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp.vkey
}

func TestWitnessedPublication(t *testing.T) {
	w1, w2 := newTestWitness(t, "w1"), newTestWitness(t, "w2")
	dir := t.TempDir()
	logKey := logKeyFor(t, dir)
	w1.start(t, logKey)
	w2.start(t, logKey)
	pol := policy(2, w1, w2)
	opts := testOptions(dir)
	opts.WitnessPolicy = pol
	l := openTestLog(t, opts)
	meters := newTestMeters(t, 2)
	all := populate(t, l, meters, 10)
	size, _ := l.Size(context.Background())
	cp := awaitSize(t, l, size)

	vpol, err := verify.ParsePolicy(pol)
	if err != nil {
		t.Fatal(err)
	}
	c, err := verify.OpenCheckpoint(cp, mustVerifier(t, logKey), vpol, time.Now())
	if err != nil {
		t.Fatalf("published checkpoint: %v\n%s", err, cp)
	}
	if len(c.Cosignatures) != 2 {
		t.Fatalf("cosignatures %+v", c.Cosignatures)
	}
	receipt, err := l.Proof(context.Background(), size-1)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := verify.VerifyReceipt(receipt, verify.ReceiptKeys{Log: mustVerifier(t, logKey), Policy: vpol, Meter: mustVerifier(t, meters[1].vkey)})
	if err != nil || !bytes.Equal(rec.Entry, all[size-1]) {
		t.Fatalf("witnessed receipt: %v", err)
	}
	// What the witness holds is what was published.
	latest, err := w1.w.Load().Latest(context.Background(), l.Origin())
	if err != nil {
		t.Fatal(err)
	}
	if lc, err := verify.OpenCheckpoint(latest, mustVerifier(t, logKey), nil, time.Now()); err != nil || lc.Size < size {
		t.Fatalf("witness holds %v (%v)", lc, err)
	}
}

// TestNoPublicationWithoutQuorum: with only one of the two witnesses a
// 2-of-3 policy needs reachable, the log keeps sequencing (durably) but
// publishes nothing; once a second witness answers, it publishes.
func TestNoPublicationWithoutQuorum(t *testing.T) {
	w1, w2 := newTestWitness(t, "w1"), newTestWitness(t, "w2")
	w3 := newTestWitness(t, "w3")
	w3.srv.Close() // nothing listens at its URL any more
	dir := t.TempDir()
	logKey := logKeyFor(t, dir)
	w1.start(t, logKey)
	w2.down.Store(true)
	w2.start(t, logKey)
	opts := testOptions(dir)
	opts.WitnessPolicy = policy(2, w1, w2, w3)
	opts.WitnessTimeout = 300 * time.Millisecond
	l := openTestLog(t, opts)
	ctx := context.Background()
	meters := newTestMeters(t, 2)
	populate(t, l, meters, 5)
	size, err := l.Size(ctx)
	if err != nil || size != 12 {
		t.Fatalf("integrated size %d (%v), want 12", size, err)
	}
	// Many checkpoint intervals and witness timeouts pass: still nothing.
	time.Sleep(1500 * time.Millisecond)
	cp, err := l.Checkpoint(ctx)
	if !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("a checkpoint was published without the quorum: %v\n%s", err, cp)
	}
	if _, err := l.Proof(ctx, 0); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Proof without a published checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "log", "checkpoint")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint file exists: %v", err)
	}
	// The second witness comes back: the next checkpoint is published.
	w2.down.Store(false)
	cp = awaitSize(t, l, size)
	vpol, _ := verify.ParsePolicy(opts.WitnessPolicy)
	if _, err := verify.OpenCheckpoint(cp, mustVerifier(t, logKey), vpol, time.Now()); err != nil {
		t.Fatalf("checkpoint after recovery: %v", err)
	}
}

// postCheckpoint sends an add-checkpoint request to a witness.
func postCheckpoint(t *testing.T, url string, oldSize uint64, proof [][]byte, cp []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", oldSize)
	for _, h := range proof {
		fmt.Fprintf(&body, "%s\n", base64.StdEncoding.EncodeToString(h))
	}
	body.WriteString("\n")
	body.Write(cp)
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWitnessRefusesFork(t *testing.T) {
	honest, forked := buildForkedPair(t)
	w := newTestWitness(t, "w1")
	w.start(t, honest.vkey)
	ctx := context.Background()

	// The witness cosigns the honest checkpoint (trust on first use).
	code, body := postCheckpoint(t, w.srv.URL, 0, nil, honest.checkpoint)
	if code != http.StatusOK || !strings.HasPrefix(body, "— witness.test/w1 ") {
		t.Fatalf("honest checkpoint: %d %q", code, body)
	}
	// The fork extends a different history: its consistency proof, built
	// from the fork's own tiles, cannot verify against what the witness holds.
	f, err := verify.NewFetcher(filepath.Join(forked.dir, "log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := client.NewProofBuilder(ctx, forked.size, f.ReadTile)
	proof, err := pb.ConsistencyProof(ctx, honest.size, forked.size)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := postCheckpoint(t, w.srv.URL, honest.size, proof, forked.checkpoint); code != http.StatusUnprocessableEntity {
		t.Fatalf("forked checkpoint: status %d, want 422", code)
	}
	// The fork at the very same size: a different root for a cosigned size.
	if code, _ := postCheckpoint(t, w.srv.URL, honest.size, nil, forked.sameSize); code != http.StatusUnprocessableEntity {
		t.Fatalf("same-size fork: status %d, want 422", code)
	}
	// The witness still holds the honest checkpoint.
	latest, _ := w.w.Load().Latest(ctx, forked.origin)
	if !bytes.HasPrefix(latest, honest.checkpoint[:bytes.Index(honest.checkpoint, []byte("\n\n"))]) {
		t.Fatalf("witness state changed:\n%s", latest)
	}
	// Protocol errors.
	if code, body := postCheckpoint(t, w.srv.URL, 0, nil, forked.checkpoint); code != http.StatusConflict || strings.TrimSpace(body) != fmt.Sprint(honest.size) {
		t.Fatalf("stale old size: %d %q", code, body)
	}
	other := t.TempDir()
	lo := openTestLog(t, Options{Dir: other, Origin: "other.log/v1", CheckpointInterval: 100 * time.Millisecond})
	ocp, _ := lo.Checkpoint(ctx)
	if code, _ := postCheckpoint(t, w.srv.URL, 0, nil, ocp); code != http.StatusNotFound {
		t.Fatalf("unknown origin: %d", code)
	}
	impostor := bytes.Replace(ocp, []byte("other.log/v1"), []byte(forked.origin), -1)
	if code, _ := postCheckpoint(t, w.srv.URL, 0, nil, impostor); code != http.StatusForbidden {
		t.Fatalf("checkpoint not signed by the log key: %d", code)
	}
}

func TestWitnessCommandKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := WitnessVerifierKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := WitnessVerifierKey(dir, "")
	if err != nil || k1 != k2 {
		t.Fatalf("key not stable: %q %q %v", k1, k2, err)
	}
	info, err := os.Stat(filepath.Join(dir, "witness.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("witness.key mode: %v %v", info, err)
	}
	if pub, _ := os.ReadFile(filepath.Join(dir, "witness.vkey")); strings.TrimSpace(string(pub)) != k1 {
		t.Fatalf("witness.vkey %q, want the cosignature key %q", pub, k1)
	}
	// A cosignature/v1 key (type 0x04).
	_, b64, _ := strings.Cut(k1[strings.Index(k1, "+")+1:], "+")
	raw, _ := base64.StdEncoding.DecodeString(b64)
	if len(raw) != 33 || raw[0] != 0x04 {
		t.Fatalf("not a cosignature/v1 vkey: %s", k1)
	}
}

// FuzzWitnessPrecheck feeds arbitrary add-checkpoint bodies to the
// witness's request check: it must classify, never crash, and never pass a
// body whose checkpoint lacks the log's signature.
func FuzzWitnessPrecheck(f *testing.F) {
	dir := f.TempDir()
	logKey := logKeyFor(f, dir)
	w, err := OpenWitness(context.Background(), WitnessOptions{Dir: f.TempDir(), LogKeys: []string{logKey}})
	if err != nil {
		f.Fatal(err)
	}
	defer w.Close()
	f.Add([]byte("old 0\n\ntest.shuixiao.local/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— test.shuixiao.local/ledger AAAA\n"))
	f.Add([]byte("old 5\nAAAA\n\nother\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		code := w.precheck(body)
		if code == 0 && !bytes.Contains(body, []byte("— test.shuixiao.local/ledger ")) {
			t.Fatalf("passed a checkpoint without the log's signature: %q", body)
		}
	})
}
