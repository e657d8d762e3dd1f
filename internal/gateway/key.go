package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/atomicfile"
	"github.com/shuixiao/shuixiao/reading"
)

// LoadOrCreateKey reads the gateway's Ed25519 note signer key from path,
// creating it (mode 0600) on first use. It returns the signer and the
// verifier key to register on the ledger. A key file of another gateway ID
// is refused rather than used.
func LoadOrCreateKey(path, id string) (note.Signer, string, error) {
	if err := reading.ValidID(id); err != nil {
		return nil, "", fmt.Errorf("gateway id: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName(id))
		if err != nil {
			return nil, "", err
		}
		if err := atomicfile.Create(path, []byte(skey+"\n"+vkey+"\n"), 0o600); err != nil {
			return nil, "", fmt.Errorf("gateway key: %w", err)
		}
		b = []byte(skey + "\n" + vkey + "\n")
	} else if err != nil {
		return nil, "", fmt.Errorf("gateway key: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return nil, "", fmt.Errorf("gateway key %s: want the signer key and the verifier key, one a line", path)
	}
	s, err := note.NewSigner(lines[0])
	if err != nil {
		return nil, "", fmt.Errorf("gateway key %s: %w", path, err)
	}
	v, err := note.NewVerifier(lines[1])
	if err != nil {
		return nil, "", fmt.Errorf("gateway key %s: %w", path, err)
	}
	if s.Name() != reading.GatewayKeyName(id) || v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, "", fmt.Errorf("gateway key %s is %s's, not %s", path, s.Name(), reading.GatewayKeyName(id))
	}
	return s, lines[1], nil
}
