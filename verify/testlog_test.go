package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// The helpers below build tlog-tiles logs straight from RFC 6962 §2.1
// (MTH, PATH, SUBPROOF), independently of tessera and of package merkle,
// so that the verifier is checked against a second implementation.

func leafHashOf(e []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, e...))
	return h[:]
}

func nodeHash(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

func splitPoint(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// mth is RFC 6962's Merkle Tree Hash of leaf hashes.
func mth(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	}
	k := splitPoint(len(leaves))
	return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

// path is RFC 6962's audit path for leaf m.
func path(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := splitPoint(len(leaves))
	if m < k {
		return append(path(m, leaves[:k]), mth(leaves[k:]))
	}
	return append(path(m-k, leaves[k:]), mth(leaves[:k]))
}

// consistency is RFC 6962's PROOF(m, D[n]).
func consistency(m int, leaves [][]byte) [][]byte {
	return subproof(m, leaves, true)
}

func subproof(m int, leaves [][]byte, b bool) [][]byte {
	n := len(leaves)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{mth(leaves)}
	}
	k := splitPoint(n)
	if m <= k {
		return append(subproof(m, leaves[:k], b), mth(leaves[k:]))
	}
	return append(subproof(m-k, leaves[k:], false), mth(leaves[:k]))
}

type testKeys struct {
	logSigner  note.Signer
	logKey     note.Verifier
	logVKey    string
	witnesses  []note.Signer
	witnessKey []string // cosignature/v1 vkeys
}

func newTestKeys(t testing.TB, origin string, witnesses int) *testKeys {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	k := &testKeys{logVKey: vkey}
	k.logSigner, _ = note.NewSigner(skey)
	k.logKey, _ = note.NewVerifier(vkey)
	for i := range witnesses {
		ws, wv, err := note.GenerateKey(rand.Reader, fmt.Sprintf("witness.test/w%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		s, err := f_note.NewSignerForCosignatureV1(ws)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := f_note.VKeyToCosignatureV1(wv)
		if err != nil {
			t.Fatal(err)
		}
		k.witnesses = append(k.witnesses, s)
		k.witnessKey = append(k.witnessKey, cv)
	}
	return k
}

// policyText requires k of the test witnesses.
func (k *testKeys) policyText(threshold int) []byte {
	s := ""
	names := ""
	for i, v := range k.witnessKey {
		s += fmt.Sprintf("witness w%d %s\n", i+1, v)
		names += fmt.Sprintf(" w%d", i+1)
	}
	return []byte(s + fmt.Sprintf("group g %d%s\nquorum g\n", threshold, names))
}

// checkpoint signs a checkpoint for the leaves, cosigned by the witnesses.
func (k *testKeys) checkpoint(t testing.TB, leaves [][]byte) []byte {
	t.Helper()
	text := f_log.Checkpoint{Origin: k.logSigner.Name(), Size: uint64(len(leaves)), Hash: mth(leaves)}.Marshal()
	signers := append([]note.Signer{k.logSigner}, k.witnesses...)
	msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// receipt builds a tlog-proof for entry index of entries.
func (k *testKeys) receipt(t testing.TB, entries [][]byte, index int) []byte {
	t.Helper()
	leaves := make([][]byte, len(entries))
	for i, e := range entries {
		leaves[i] = leafHashOf(e)
	}
	p := proof.TLogProof{Index: uint64(index), Checkpoint: k.checkpoint(t, leaves), ExtraData: entries[index]}
	for _, h := range path(index, leaves) {
		p.Hashes = append(p.Hashes, [32]byte(h))
	}
	return p.Marshal()
}

// writeTiles writes entries as a tlog-tiles log in dir with a checkpoint.
func (k *testKeys) writeTiles(t testing.TB, dir string, entries [][]byte) {
	t.Helper()
	write := func(p string, data []byte) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	leaves := make([][]byte, len(entries))
	for i, e := range entries {
		leaves[i] = leafHashOf(e)
	}
	// Entry bundles.
	for b := 0; b*256 < len(entries); b++ {
		end := min(len(entries), b*256+256)
		var data []byte
		for _, e := range entries[b*256 : end] {
			data = binary.BigEndian.AppendUint16(data, uint16(len(e)))
			data = append(data, e...)
		}
		write("tile/entries/"+tileN(b, end-b*256), data)
	}
	// Hash tiles: level L holds the hashes of complete subtrees of 256^L leaves.
	width := 1
	for level := 0; width <= len(entries); level++ {
		var nodes [][]byte
		for i := 0; (i+1)*width <= len(entries); i++ {
			nodes = append(nodes, mth(leaves[i*width:(i+1)*width]))
		}
		for tIdx := 0; tIdx*256 < len(nodes); tIdx++ {
			end := min(len(nodes), tIdx*256+256)
			var data []byte
			for _, h := range nodes[tIdx*256 : end] {
				data = append(data, h...)
			}
			write("tile/"+strconv.Itoa(level)+"/"+tileN(tIdx, end-tIdx*256), data)
		}
		width *= 256
	}
	write("checkpoint", k.checkpoint(t, leaves))
}

func tileN(n, w int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if w < 256 {
		s += fmt.Sprintf(".p/%d", w)
	}
	return s
}

// testMeter signs readings with a chain.
type testMeter struct {
	id     string
	signer note.Signer
	skey   string
	vkey   string
	seq    uint64
	prev   reading.Hash
}

func newTestMeter(t testing.TB, id string) *testMeter {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	return &testMeter{id: id, signer: s, skey: skey, vkey: vkey}
}

func (m *testMeter) next(t testing.TB) []byte {
	t.Helper()
	m.seq++
	r := &reading.Reading{
		Meter: m.id, Seq: m.seq, Prev: m.prev, Point: "P-1",
		Time:   time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).Add(time.Duration(m.seq) * time.Minute),
		Values: []reading.Value{{Channel: "total_m3", Value: float64(m.seq), Text: strconv.FormatUint(m.seq, 10) + ".000"}},
	}
	msg, err := reading.Sign(r, m.signer)
	if err != nil {
		t.Fatal(err)
	}
	m.prev = reading.HashOf(msg)
	return msg
}

// register returns a key entry for m signed by the log key.
func (k *testKeys) register(t testing.TB, m *testMeter) []byte {
	t.Helper()
	return k.keyEntry(t, &reading.KeyEntry{Action: reading.ActionRegister, Meter: m.id, Key: m.vkey, Signed: "meter", Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
}

// keyEntry returns ke signed by the log key.
func (k *testKeys) keyEntry(t testing.TB, ke *reading.KeyEntry) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: ke.Text()}, k.logSigner)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
