package ingest

import (
	"encoding/base64"
	"fmt"
	"strings"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"golang.org/x/mod/sumdb/note"
)

// stdlibRules makes curve25519-voi accept exactly the signatures that Go's
// crypto/ed25519 (and so golang.org/x/mod/sumdb/note and the independent
// verifier) accepts: cofactorless verification, canonical s, and the same
// treatment of small-order and non-canonical points.
var stdlibRules = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// meterVerifier checks a meter's Ed25519 note signatures with
// curve25519-voi and the meter's public key expanded once at registration.
// Signature checking is ingest's largest cost; this does the same check as
// note's own Ed25519 verifier in about half the time (BenchmarkVerifier).
// note.Open still does all the note parsing; only the arithmetic differs.
type meterVerifier struct {
	name string
	hash uint32
	key  *voi.ExpandedPublicKey
}

func (v *meterVerifier) Name() string    { return v.name }
func (v *meterVerifier) KeyHash() uint32 { return v.hash }
func (v *meterVerifier) Verify(msg, sig []byte) bool {
	return voi.VerifyExpandedWithOptions(v.key, msg, sig, stdlibRules)
}

// newMeterVerifier returns a fast verifier for an Ed25519 note verifier key,
// or note's own verifier for any other key type.
func newMeterVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+voi.PublicKeySize || raw[0] != 1 { // 1: the Ed25519 algorithm byte
		return v, nil
	}
	epk, err := voi.NewExpandedPublicKey(voi.PublicKey(raw[1:]))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", v.Name(), err)
	}
	return &meterVerifier{name: v.Name(), hash: v.KeyHash(), key: epk}, nil
}
