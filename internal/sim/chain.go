package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/reading"
)

// MeterKey derives a meter's Ed25519 note key pair (key name "meter/<ID>")
// from a secret: the same secret and ID always give the same key, so a
// simulator restarted with the same secret keeps its registered keys.
func MeterKey(secret []byte, meterID string) (signerKey, verifierKey string, err error) {
	if err := reading.ValidID(meterID); err != nil {
		return "", "", fmt.Errorf("meter key: %w", err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("shuixiao-sim meter key v1\x00" + meterID))
	return note.GenerateKey(bytes.NewReader(mac.Sum(nil)), reading.KeyName(meterID))
}

// MQTTPassword derives a meter's MQTT password from the same secret.
func MQTTPassword(secret []byte, meterID string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("shuixiao-sim mqtt password v1\x00" + meterID))
	return fmt.Sprintf("%x", mac.Sum(nil)[:16])
}

// Chain is a meter's signing state: its key, the seq of its last signed
// reading and that reading's hash, which the next reading quotes as prev
// (reference/ledger.md §5). It is not safe for concurrent use.
type Chain struct {
	Meter  string
	Point  string
	signer note.Signer
	seq    uint64
	prev   reading.Hash
}

// NewChain returns a chain that continues after lastSeq and prev (zero
// values for a new meter).
func NewChain(meterID, point string, signer note.Signer, lastSeq uint64, prev reading.Hash) (*Chain, error) {
	if signer.Name() != reading.KeyName(meterID) {
		return nil, fmt.Errorf("chain for %s: signer is %q", meterID, signer.Name())
	}
	return &Chain{Meter: meterID, Point: point, signer: signer, seq: lastSeq, prev: prev}, nil
}

// NewChainFromKey is NewChain with the signer built from a note signer key.
func NewChainFromKey(meterID, point, signerKey string, lastSeq uint64, prev reading.Hash) (*Chain, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, fmt.Errorf("chain for %s: %w", meterID, err)
	}
	return NewChain(meterID, point, s, lastSeq, prev)
}

// Seq is the seq of the last signed reading (0 before the first).
func (c *Chain) Seq() uint64 { return c.seq }

// Prev is the hash of the last signed reading.
func (c *Chain) Prev() reading.Hash { return c.prev }

// Next signs the meter's next reading and advances the chain.
func (c *Chain) Next(t time.Time, values []reading.Value) (signed []byte, seq uint64, err error) {
	msg, err := c.SignAt(c.seq+1, c.prev, t, values)
	if err != nil {
		return nil, 0, err
	}
	c.seq++
	c.prev = reading.HashOf(msg)
	return msg, c.seq, nil
}

// SignAt signs a reading with an arbitrary seq and prev without advancing
// the chain (fault injection: a reading that reuses an old seq).
func (c *Chain) SignAt(seq uint64, prev reading.Hash, t time.Time, values []reading.Value) ([]byte, error) {
	r := &reading.Reading{Meter: c.Meter, Seq: seq, Time: t, Prev: prev, Point: c.Point, Values: values}
	msg, err := reading.Sign(r, c.signer)
	if err != nil {
		return nil, err
	}
	if len(msg) > reading.MaxSize {
		return nil, fmt.Errorf("reading of %s: %d bytes, more than %d", c.Meter, len(msg), reading.MaxSize)
	}
	return msg, nil
}
