// Package verify is shuixiao's independent verifier. It checks, with public
// keys only, what the ledger claims:
//
//   - a receipt (c2sp.org/tlog-proof@v1 carrying the signed entry) offline:
//     log signature and witness quorum on the checkpoint, the RFC 6962
//     inclusion proof, and the entry's own signature (VerifyReceipt);
//   - that a newer checkpoint extends an older one, producing a
//     self-contained fork proof when it does not (CheckConsistency,
//     ForkProof), as the Go checksum-database client does;
//   - a whole log served as C2SP tlog-tiles from a directory or URL
//     (Audit): it re-derives the Merkle root and the hash tiles from every
//     entry bundle, rebuilds the meter-key directory by replaying key
//     entries, checks every signature, (meter, seq) uniqueness and every
//     meter's prev chain.
//
// It shares no code with the server: it imports only the wire formats in
// package reading, the standard library, golang.org/x/mod/sumdb/note and the
// transparency-dev formats, merkle and tessera client/api packages.
package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// MaxCheckpointSize bounds a checkpoint note.
const MaxCheckpointSize = 1 << 20

// MaxCosignatureSkew is how far in the future a witness cosignature's
// timestamp may lie before the checkpoint is rejected (tlog-cosignature:
// verifiers MAY reject future timestamps).
const MaxCosignatureSkew = 10 * time.Minute

// Checkpoint is a checkpoint whose log signature (and, if a policy was
// given, witness quorum) has been verified.
type Checkpoint struct {
	Origin       string
	Size         uint64
	Root         [sha256.Size]byte
	Raw          []byte        // the signed note exactly as received
	Cosignatures []Cosignature // verified cosignatures by the policy's witnesses
}

// Cosignature is a verified witness cosignature.
type Cosignature struct {
	Witness string    // key name of the witness
	Time    time.Time // when the witness cosigned (cosignature/v1 timestamp)
}

// Errors that classify verification failures.
var (
	ErrLogSignature = errors.New("checkpoint is not signed by the log key")
	ErrQuorum       = errors.New("checkpoint lacks the witness quorum")
	ErrMalformed    = errors.New("malformed")
)

// OpenCheckpoint verifies raw as a checkpoint of the log whose key is logKey:
// the note must carry a valid signature by logKey, its origin must be the
// key's name, and every signature line must be canonically encoded. If
// policy is not nil, cosignatures by its witnesses are verified and its
// quorum must be met; cosignatures dated more than MaxCosignatureSkew after
// now are rejected.
func OpenCheckpoint(raw []byte, logKey note.Verifier, policy *Policy, now time.Time) (*Checkpoint, error) {
	if len(raw) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w checkpoint: larger than %d bytes", ErrMalformed, MaxCheckpointSize)
	}
	verifiers := []note.Verifier{logKey}
	if policy != nil {
		verifiers = append(verifiers, policy.Verifiers()...)
	}
	n, err := note.Open(raw, note.VerifierList(verifiers...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, fmt.Errorf("%w (%s)", ErrLogSignature, logKey.Name())
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := canonicalSignatures(n); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var logSigned bool
	var witnessSigs []note.Signature
	for _, s := range n.Sigs {
		if s.Name == logKey.Name() && s.Hash == logKey.KeyHash() {
			logSigned = true
		} else {
			witnessSigs = append(witnessSigs, s)
		}
	}
	if !logSigned {
		return nil, fmt.Errorf("%w (%s)", ErrLogSignature, logKey.Name())
	}
	var body f_log.Checkpoint
	if _, err := body.Unmarshal([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("%w checkpoint: %v", ErrMalformed, err)
	}
	if body.Origin != logKey.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the log key's name %q", body.Origin, logKey.Name())
	}
	if len(body.Hash) != sha256.Size {
		return nil, fmt.Errorf("%w checkpoint: root hash has %d bytes", ErrMalformed, len(body.Hash))
	}
	if body.Size == 0 && !bytes.Equal(body.Hash, rfc6962.DefaultHasher.EmptyRoot()) {
		return nil, fmt.Errorf("%w checkpoint: size 0 with a root other than the empty tree's", ErrMalformed)
	}
	cp := &Checkpoint{Origin: body.Origin, Size: body.Size, Root: [sha256.Size]byte(body.Hash), Raw: raw}
	for _, s := range witnessSigs {
		t, err := f_note.CoSigV1Timestamp(s)
		if err != nil {
			return nil, fmt.Errorf("cosignature by %s: %w", s.Name, err)
		}
		if t.After(now.Add(MaxCosignatureSkew)) {
			return nil, fmt.Errorf("cosignature by %s is dated %s, in the future", s.Name, t.UTC().Format(time.RFC3339))
		}
		cp.Cosignatures = append(cp.Cosignatures, Cosignature{Witness: s.Name, Time: t})
	}
	if policy != nil {
		if ok, _ := policy.satisfied(witnessSigs); !ok {
			got := make([]string, len(cp.Cosignatures))
			for i, c := range cp.Cosignatures {
				got[i] = c.Witness
			}
			return nil, fmt.Errorf("%w: need %s, have cosignatures by %v", ErrQuorum, policy, got)
		}
	}
	return cp, nil
}

// canonicalSignatures rejects signature lines whose base64 is not in
// canonical form: base64 decoding ignores the padding bits, so without this
// check a flipped padding bit would leave a signature "valid".
func canonicalSignatures(n *note.Note) error {
	for _, list := range [][]note.Signature{n.Sigs, n.UnverifiedSigs} {
		for _, s := range list {
			raw, err := base64.StdEncoding.DecodeString(s.Base64)
			if err != nil || base64.StdEncoding.EncodeToString(raw) != s.Base64 {
				return fmt.Errorf("%w: signature by %s is not canonical base64", ErrMalformed, s.Name)
			}
		}
	}
	return nil
}
