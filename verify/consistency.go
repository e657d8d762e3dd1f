package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// ErrBadTiles means the log's tiles do not hash to its own checkpoint: the
// log serves corrupt data, but that alone does not prove a fork.
var ErrBadTiles = errors.New("the log's tiles do not match its checkpoint")

// ForkError is returned when two checkpoints signed by the log cannot both
// be true. Proof is self-contained evidence of the log's misbehaviour.
type ForkError struct {
	Proof *ForkProof
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("log fork: checkpoints of size %d and %d are inconsistent", e.Proof.Smaller().Size, e.Proof.Larger().Size)
}

// Consistency is the result of a successful consistency check.
type Consistency struct {
	Old, New *Checkpoint
	Proof    [][]byte // RFC 6962 consistency proof from the smaller tree to the larger
	Rollback bool     // New is smaller than Old
}

// CheckConsistency checks that old and new are two states of one
// append-only log: the smaller tree must be a prefix of the larger. The
// proof is built from tiles, which must be the hash tiles of the larger
// tree (normally the current log). When the check fails it returns a
// *ForkError whose proof stands on its own: both signed checkpoints and a
// consistency proof showing that the larger tree's prefix of the smaller
// size has a different root than the one the log signed for that size.
func CheckConsistency(ctx context.Context, old, new *Checkpoint, tiles client.TileFetcherFunc) (*Consistency, error) {
	res := &Consistency{Old: old, New: new, Rollback: new.Size < old.Size}
	small, large := old, new
	if res.Rollback {
		small, large = new, old
	}
	if small.Size == large.Size {
		if small.Root != large.Root {
			return nil, &ForkError{Proof: &ForkProof{Old: old.Raw, New: new.Raw, old: old, new: new}}
		}
		return res, nil
	}
	if small.Size == 0 {
		return res, nil // every tree extends the empty tree
	}
	if tiles == nil {
		return nil, errors.New("consistency proof: no tiles to build it from")
	}
	pb, err := client.NewProofBuilder(ctx, large.Size, tiles)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	proof, err := pb.ConsistencyProof(ctx, small.Size, large.Size)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d → %d: %w", small.Size, large.Size, err)
	}
	if mproof.VerifyConsistency(rfc6962.DefaultHasher, small.Size, large.Size, proof, small.Root[:], large.Root[:]) == nil {
		res.Proof = proof
		return res, nil
	}
	// Either the log forked or it serves bad tiles. Find out which: compute
	// the root of the larger tree's first small.Size leaves from its tiles
	// and check that prefix root against the larger checkpoint.
	prefix, err := prefixRoot(ctx, small.Size, large.Size, tiles)
	if err != nil {
		return nil, fmt.Errorf("%w: prefix of size %d: %v", ErrBadTiles, small.Size, err)
	}
	if err := mproof.VerifyConsistency(rfc6962.DefaultHasher, small.Size, large.Size, proof, prefix, large.Root[:]); err != nil {
		return nil, fmt.Errorf("%w: consistency proof %d → %d: %v", ErrBadTiles, small.Size, large.Size, err)
	}
	fp := &ForkProof{Old: old.Raw, New: new.Raw, PrefixRoot: prefix, Hashes: proof, old: old, new: new}
	return nil, &ForkError{Proof: fp}
}

// prefixRoot computes the root of the first n leaves of the tree of the
// given size from that tree's hash tiles.
func prefixRoot(ctx context.Context, n, size uint64, tiles client.TileFetcherFunc) ([]byte, error) {
	ids := compact.RangeNodes(0, n, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		tl, ti, nl, ni := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
		raw, err := tiles(ctx, tl, ti, layout.PartialTileSize(tl, ti, size))
		if err != nil {
			return nil, err
		}
		if len(raw)%sha256.Size != 0 {
			return nil, fmt.Errorf("tile %d/%d has %d bytes", tl, ti, len(raw))
		}
		first, count := ni<<nl, uint64(1)<<nl
		if (first+count)*sha256.Size > uint64(len(raw)) {
			return nil, fmt.Errorf("tile %d/%d is too short for node %d/%d", tl, ti, id.Level, id.Index)
		}
		sub := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
		for j := first; j < first+count; j++ {
			if err := sub.Append(raw[j*sha256.Size:(j+1)*sha256.Size], nil); err != nil {
				return nil, err
			}
		}
		if hashes[i], err = sub.GetRootHash(nil); err != nil {
			return nil, err
		}
	}
	rng, err := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewRange(0, n, hashes)
	if err != nil {
		return nil, err
	}
	return rng.GetRootHash(nil)
}

// ForkProof is evidence that a log signed two checkpoints that cannot
// belong to one append-only history. Anyone holding the log's key can check
// it with Verify: either both trees have the same size and different roots,
// or Hashes is a valid consistency proof from PrefixRoot (at the smaller
// size) to the larger checkpoint's root while the smaller checkpoint's root
// differs from PrefixRoot.
type ForkProof struct {
	Old, New   []byte   // the two signed checkpoints, as received
	PrefixRoot []byte   // root of the larger tree's prefix of the smaller size (absent when sizes are equal)
	Hashes     [][]byte // consistency proof from PrefixRoot to the larger root

	old, new *Checkpoint // parsed forms, when known
}

// forkProofHeader starts the machine-readable block of a fork proof.
const forkProofHeader = "shuixiao/fork-proof/v1"

// Smaller returns the checkpoint with the smaller (or equal) size. It is
// nil for a parsed proof until Verify has succeeded.
func (f *ForkProof) Smaller() *Checkpoint {
	if f.old == nil || f.new == nil {
		return nil
	}
	if f.new.Size < f.old.Size {
		return f.new
	}
	return f.old
}

// Larger returns the checkpoint with the larger size. It is nil for a
// parsed proof until Verify has succeeded.
func (f *ForkProof) Larger() *Checkpoint {
	if f.old == nil || f.new == nil {
		return nil
	}
	if f.new.Size < f.old.Size {
		return f.old
	}
	return f.new
}

// Marshal encodes the proof as a block of lines:
//
//	shuixiao/fork-proof/v1
//	old <base64 checkpoint>
//	new <base64 checkpoint>
//	prefix <base64 root>        (omitted for equal sizes)
//	<base64 hash>…              (consistency proof)
func (f *ForkProof) Marshal() []byte {
	var b bytes.Buffer
	b64 := base64.StdEncoding.EncodeToString
	fmt.Fprintf(&b, "%s\nold %s\nnew %s\n", forkProofHeader, b64(f.Old), b64(f.New))
	if f.PrefixRoot != nil {
		fmt.Fprintf(&b, "prefix %s\n", b64(f.PrefixRoot))
	}
	for _, h := range f.Hashes {
		fmt.Fprintf(&b, "%s\n", b64(h))
	}
	return b.Bytes()
}

// ParseForkProof finds and parses the fork-proof block in data (which may
// be a whole SECURITY ERROR report). It checks syntax only; Verify checks
// the evidence.
func ParseForkProof(data []byte) (*ForkProof, error) {
	i := bytes.Index(data, []byte(forkProofHeader+"\n"))
	if i < 0 || (i > 0 && data[i-1] != '\n') {
		return nil, fmt.Errorf("%w fork proof: no %s block", ErrMalformed, forkProofHeader)
	}
	sc := bufio.NewScanner(bytes.NewReader(data[i+len(forkProofHeader)+1:]))
	sc.Buffer(nil, 4*MaxCheckpointSize/3+16)
	f := &ForkProof{}
	field := func(prefix string) ([]byte, error) {
		if !sc.Scan() {
			return nil, fmt.Errorf("%w fork proof: missing %q line", ErrMalformed, prefix)
		}
		v, ok := strings.CutPrefix(sc.Text(), prefix+" ")
		if !ok {
			return nil, fmt.Errorf("%w fork proof: want %q line, got %.40q", ErrMalformed, prefix, sc.Text())
		}
		return decodeCanonical(v)
	}
	var err error
	if f.Old, err = field("old"); err != nil {
		return nil, err
	}
	if f.New, err = field("new"); err != nil {
		return nil, err
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "prefix "); ok && f.PrefixRoot == nil && len(f.Hashes) == 0 {
			if f.PrefixRoot, err = decodeCanonical(v); err != nil {
				return nil, err
			}
			if len(f.PrefixRoot) != sha256.Size {
				return nil, fmt.Errorf("%w fork proof: prefix root has %d bytes", ErrMalformed, len(f.PrefixRoot))
			}
			continue
		}
		h, err := decodeCanonical(line)
		if err != nil {
			return nil, err
		}
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("%w fork proof: proof hash has %d bytes", ErrMalformed, len(h))
		}
		if len(f.Hashes) == 64 {
			return nil, fmt.Errorf("%w fork proof: more than 64 proof hashes", ErrMalformed)
		}
		f.Hashes = append(f.Hashes, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w fork proof: %v", ErrMalformed, err)
	}
	return f, nil
}

func decodeCanonical(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("%w fork proof: %.40q is not canonical base64", ErrMalformed, s)
	}
	return b, nil
}

// Verify checks the evidence against the log's key: both checkpoints must be
// signed by it, and they must be provably inconsistent. A nil error means
// the fork is proven.
func (f *ForkProof) Verify(logKey note.Verifier) error {
	var err error
	// Witness cosignatures are not needed to convict the log: its own
	// signature on both checkpoints is the evidence.
	if f.old, err = OpenCheckpoint(f.Old, logKey, nil, time.Now()); err != nil {
		return fmt.Errorf("old checkpoint: %w", err)
	}
	if f.new, err = OpenCheckpoint(f.New, logKey, nil, time.Now()); err != nil {
		return fmt.Errorf("new checkpoint: %w", err)
	}
	small, large := f.Smaller(), f.Larger()
	if small.Size == large.Size {
		if small.Root == large.Root {
			return errors.New("no fork: both checkpoints have the same size and root")
		}
		if f.PrefixRoot != nil || len(f.Hashes) > 0 {
			return errors.New("equal sizes need no consistency proof")
		}
		return nil
	}
	if small.Size == 0 {
		return errors.New("no fork: every tree extends the empty tree")
	}
	if f.PrefixRoot == nil {
		return errors.New("no prefix root")
	}
	if bytes.Equal(f.PrefixRoot, small.Root[:]) {
		return errors.New("no fork: the prefix root equals the smaller checkpoint's root")
	}
	if err := mproof.VerifyConsistency(rfc6962.DefaultHasher, small.Size, large.Size, f.Hashes, f.PrefixRoot, large.Root[:]); err != nil {
		return fmt.Errorf("the consistency proof does not tie the prefix root to the larger checkpoint: %w", err)
	}
	return nil
}

// SecurityReport formats the proof as a report for humans, in the manner of
// the Go checksum-database client's "SECURITY ERROR", followed by the
// machine-readable block that `shuixiao verify fork` checks.
func (f *ForkProof) SecurityReport() string {
	var b strings.Builder
	small, large := f.Smaller(), f.Larger()
	if small == nil {
		b.WriteString("fork proof (unverified; check with: shuixiao verify fork FILE --log-key KEY):\n")
		b.Write(f.Marshal())
		return b.String()
	}
	b.WriteString("SECURITY ERROR 安全错误\n")
	b.WriteString("账本分叉：该日志签署了两个互不一致的检查点。\n")
	b.WriteString("The log signed two checkpoints that cannot both be true: misbehaviour detected.\n\n")
	if small.Size == large.Size {
		fmt.Fprintf(&b, "Both trees have size %d but different roots.\n\n", small.Size)
	} else {
		fmt.Fprintf(&b, "The tree of size %d signed earlier has root %s;\n", small.Size, base64.StdEncoding.EncodeToString(small.Root[:]))
		fmt.Fprintf(&b, "the tree of size %d contains, as its first %d entries, a tree with root %s\n", large.Size, small.Size, base64.StdEncoding.EncodeToString(f.PrefixRoot))
		fmt.Fprintf(&b, "(proven by the %d-hash consistency proof below).\n\n", len(f.Hashes))
	}
	fmt.Fprintf(&b, "old checkpoint:\n%s\nnew checkpoint:\n%s\n", indent(f.Old), indent(f.New))
	b.WriteString("fork proof (check with: shuixiao verify fork FILE --log-key KEY):\n")
	b.Write(f.Marshal())
	return b.String()
}

func indent(note []byte) string {
	lines := strings.Split(strings.TrimSuffix(string(note), "\n"), "\n")
	return "\t" + strings.Join(lines, "\n\t") + "\n"
}

// ReadState returns the checkpoint stored in a state file, or nil if the
// file does not exist (like the checksum-database client's "latest" file).
func ReadState(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return b, nil
}

// WriteState stores a verified checkpoint in a state file atomically.
func WriteState(path string, checkpoint []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	_, err = tmp.Write(checkpoint)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
