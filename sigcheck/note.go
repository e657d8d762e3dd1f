package sigcheck

import (
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the signed-note algorithm byte of Ed25519 keys.
const algEd25519 = 1

// noteVerifier is a note.Verifier for an Ed25519 key checked with a Key.
type noteVerifier struct {
	name string
	hash uint32
	key  Key // in the verifier: one object less per meter for the collector
}

func (v *noteVerifier) Name() string                { return v.name }
func (v *noteVerifier) KeyHash() uint32             { return v.hash }
func (v *noteVerifier) Verify(msg, sig []byte) bool { return v.key.Verify(msg, sig) }

// NewNoteVerifier returns a note.Verifier for a signed-note verifier key
// (name+hash+base64 key) whose Ed25519 signatures a Key checks, drawing its
// table from tables; for a key of any other algorithm it returns note's own
// verifier. It accepts exactly the keys note.NewVerifier accepts.
func NewNoteVerifier(vkey string, tables *Tables) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return v, nil
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) == 0 || raw[0] != algEd25519 {
		return v, nil
	}
	if err := checkPublicKey(raw[1:]); err != nil {
		return nil, fmt.Errorf("key %s: %w", v.Name(), err)
	}
	nv := &noteVerifier{name: v.Name(), hash: v.KeyHash()}
	nv.key.init(raw[1:], tables)
	return nv, nil
}
