package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/atomicfile"
)

// noteKeyPair is an Ed25519 note key held in two files: the private key
// (mode 0600) and its public verifier key (mode 0644).
type noteKeyPair struct {
	skey string // PRIVATE+KEY+<name>+<hash>+<base64(0x01||seed)>
	vkey string // <name>+<hash>+<base64(0x01||public key)>
}

// loadOrCreateKey reads the key pair from privPath/pubPath, or, if neither
// exists, generates one named name and writes both files. An existing key
// whose name differs from name is an error unless name is empty. A private key
// file readable by group or others is refused, as ssh refuses such keys.
// The public file holds publish(vkey) (the vkey itself if publish is nil),
// so that a witness can publish its cosignature/v1 form.
func loadOrCreateKey(privPath, pubPath, name string, publish func(string) (string, error)) (noteKeyPair, error) {
	if publish == nil {
		publish = func(vkey string) (string, error) { return vkey, nil }
	}
	raw, err := os.ReadFile(privPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if name == "" {
			return noteKeyPair{}, fmt.Errorf("no key in %s and no name to create one", privPath)
		}
		if _, err := os.Stat(pubPath); err == nil {
			return noteKeyPair{}, fmt.Errorf("%s exists but its private key %s does not: refusing to replace a published key", pubPath, privPath)
		}
		return createKey(privPath, pubPath, name, publish)
	case err != nil:
		return noteKeyPair{}, fmt.Errorf("read key: %w", err)
	}
	info, err := os.Stat(privPath)
	if err != nil {
		return noteKeyPair{}, fmt.Errorf("stat key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return noteKeyPair{}, fmt.Errorf("private key %s has mode %v: it must not be readable by group or others (chmod 600)", privPath, info.Mode().Perm())
	}
	kp, err := parseSignerKey(strings.TrimSpace(string(raw)))
	if err != nil {
		return noteKeyPair{}, fmt.Errorf("key %s: %w", privPath, err)
	}
	if name != "" && keyName(kp.vkey) != name {
		return noteKeyPair{}, fmt.Errorf("key %s is named %q, want %q (the name of a log key is its checkpoint origin and cannot change)", privPath, keyName(kp.vkey), name)
	}
	published, err := publish(kp.vkey)
	if err != nil {
		return noteKeyPair{}, err
	}
	pub, err := os.ReadFile(pubPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := atomicfile.Write(pubPath, []byte(published+"\n"), 0o644); err != nil {
			return noteKeyPair{}, err
		}
	case err != nil:
		return noteKeyPair{}, fmt.Errorf("read public key: %w", err)
	case strings.TrimSpace(string(pub)) != published:
		return noteKeyPair{}, fmt.Errorf("public key %s does not match private key %s", pubPath, privPath)
	}
	return kp, nil
}

func createKey(privPath, pubPath, name string, publish func(string) (string, error)) (noteKeyPair, error) {
	if !validKeyName(name) {
		return noteKeyPair{}, fmt.Errorf("key name %q: must be non-empty UTF-8 without spaces or '+'", name)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return noteKeyPair{}, fmt.Errorf("generate key: %w", err)
	}
	published, err := publish(vkey)
	if err != nil {
		return noteKeyPair{}, err
	}
	if err := os.MkdirAll(filepath.Dir(privPath), 0o755); err != nil {
		return noteKeyPair{}, fmt.Errorf("create key directory: %w", err)
	}
	// The private key is written first and exclusively: a concurrent first
	// start must not end with two processes holding different keys.
	if err := atomicfile.Create(privPath, []byte(skey+"\n"), 0o600); err != nil {
		return noteKeyPair{}, err
	}
	if err := atomicfile.Write(pubPath, []byte(published+"\n"), 0o644); err != nil {
		return noteKeyPair{}, err
	}
	return noteKeyPair{skey: skey, vkey: vkey}, nil
}

// parseSignerKey parses an Ed25519 note signer key and derives its verifier key.
func parseSignerKey(skey string) (noteKeyPair, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return noteKeyPair{}, errors.New("not a note private key (PRIVATE+KEY+name+hash+key)")
	}
	name := parts[2]
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return noteKeyPair{}, errors.New("not an Ed25519 note private key")
	}
	if _, err := note.NewSigner(skey); err != nil {
		return noteKeyPair{}, fmt.Errorf("private key: %w", err)
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return noteKeyPair{}, fmt.Errorf("derive public key: %w", err)
	}
	return noteKeyPair{skey: skey, vkey: vkey}, nil
}

// keyName returns the name part of a vkey.
func keyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

// validKeyName applies the signed-note rule for key names.
func validKeyName(name string) bool {
	return name != "" && !strings.ContainsRune(name, '+') && strings.IndexFunc(name, unicode.IsSpace) < 0 &&
		strings.ToValidUTF8(name, "\uFFFD") == name
}
