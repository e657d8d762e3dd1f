package verify

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/formats/proof"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/reading"
)

// MaxReceiptSize bounds a receipt file.
const MaxReceiptSize = 1 << 20

// ErrMeterKeyNeeded is returned for a reading receipt verified without the
// meter's key.
var ErrMeterKeyNeeded = errors.New("the receipt holds a reading: its meter key is needed to check the reading's signature")

// Receipt is a verified receipt.
type Receipt struct {
	Index       uint64
	Entry       []byte // the signed entry (a reading or a key entry)
	ProofHashes int    // length of the inclusion proof
	Checkpoint  *Checkpoint
	Reading     *reading.Reading      // set for a reading
	KeyEntry    *reading.KeyEntry     // set for a key entry
	Command     *reading.CommandEntry // set for an actuator-command entry
	Point       *reading.PointEntry   // set for a metering-point registration
	Certificate *certificate.Entry    // set for a water-rights certificate entry
	EntrySigner string                // key name that signed the entry
}

// ReceiptKeys are what a receipt is checked against.
type ReceiptKeys struct {
	Log    note.Verifier // the log's key (required)
	Policy *Policy       // witness policy; nil requires no cosignature
	Meter  note.Verifier // the meter's key, required for a reading
	Now    time.Time     // for cosignature timestamps; zero means time.Now()
}

// ParseReceipt parses a c2sp.org/tlog-proof@v1 file strictly: it must be in
// the canonical form its own fields re-encode to (one spelling per receipt,
// so a flipped bit never goes unnoticed) and must carry the entry in its
// extra line.
func ParseReceipt(data []byte) (*proof.TLogProof, error) {
	if len(data) > MaxReceiptSize {
		return nil, fmt.Errorf("%w receipt: larger than %d bytes", ErrMalformed, MaxReceiptSize)
	}
	var p proof.TLogProof
	if err := p.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("%w receipt: %v", ErrMalformed, err)
	}
	if len(p.ExtraData) == 0 {
		return nil, fmt.Errorf("%w receipt: no extra line carrying the signed entry", ErrMalformed)
	}
	if !bytes.Equal(p.Marshal(), data) {
		return nil, fmt.Errorf("%w receipt: not in canonical tlog-proof@v1 form", ErrMalformed)
	}
	return &p, nil
}

// VerifyReceipt checks a receipt offline: the checkpoint's log signature and
// witness quorum, that the inclusion proof puts the carried entry at the
// stated index of the checkpoint's tree, and the entry's own signature —
// by the meter's key for a reading, by the log's key for a key entry or a
// command entry.
func VerifyReceipt(data []byte, keys ReceiptKeys) (*Receipt, error) {
	if keys.Log == nil {
		return nil, errors.New("no log key")
	}
	if keys.Now.IsZero() {
		keys.Now = time.Now()
	}
	p, err := ParseReceipt(data)
	if err != nil {
		return nil, err
	}
	// The inclusion proof is checked first against the checkpoint as
	// written, because it is cheap; the signatures that make the root
	// trustworthy are checked next, before anything is returned.
	var body f_log.Checkpoint
	text, _, _ := bytes.Cut(p.Checkpoint, []byte("\n\n"))
	if _, err := body.Unmarshal(append(text, '\n')); err != nil {
		return nil, fmt.Errorf("%w checkpoint: %v", ErrMalformed, err)
	}
	if p.Index >= body.Size {
		return nil, fmt.Errorf("receipt index %d is outside the checkpoint's tree of size %d", p.Index, body.Size)
	}
	hashes := make([][]byte, len(p.Hashes))
	for i := range p.Hashes {
		hashes[i] = p.Hashes[i][:]
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(p.ExtraData)
	if err := mproof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, body.Size, leaf, hashes, body.Hash); err != nil {
		return nil, fmt.Errorf("inclusion proof of entry %d in tree %d: %w", p.Index, body.Size, err)
	}
	cp, err := OpenCheckpoint(p.Checkpoint, keys.Log, keys.Policy, keys.Now)
	if err != nil {
		return nil, err
	}
	if cp.Size != body.Size || !bytes.Equal(cp.Root[:], body.Hash) {
		return nil, fmt.Errorf("%w checkpoint: text and signed text differ", ErrMalformed)
	}
	r := &Receipt{Index: p.Index, Entry: p.ExtraData, ProofHashes: len(p.Hashes), Checkpoint: cp}
	switch reading.Kind(p.ExtraData) {
	case reading.Header:
		if keys.Meter == nil {
			return nil, ErrMeterKeyNeeded
		}
		text, err := openEntry(p.ExtraData, keys.Meter)
		if err != nil {
			return nil, fmt.Errorf("reading at %d: %w", p.Index, err)
		}
		rd, err := reading.Parse(text)
		if err != nil {
			return nil, fmt.Errorf("reading at %d: %w", p.Index, err)
		}
		if keys.Meter.Name() != reading.KeyName(rd.Meter) {
			return nil, fmt.Errorf("reading at %d is from meter %s but the key given is %s", p.Index, rd.Meter, keys.Meter.Name())
		}
		r.Reading, r.EntrySigner = rd, keys.Meter.Name()
	case reading.KeyHeader:
		r.KeyEntry, err = openLogEntry(p.ExtraData, keys.Log, p.Index, "key entry", reading.ParseKeyEntry)
	case reading.CommandHeader:
		r.Command, err = openLogEntry(p.ExtraData, keys.Log, p.Index, "command entry", reading.ParseCommandEntry)
	case reading.PointHeader:
		r.Point, err = openLogEntry(p.ExtraData, keys.Log, p.Index, "point entry", reading.ParsePointEntry)
	case reading.RightHeader:
		r.Certificate, err = openLogEntry(p.ExtraData, keys.Log, p.Index, "certificate entry", certificate.Parse)
	default:
		return nil, fmt.Errorf("entry at %d is not a %s, %s, %s, %s or %s note", p.Index, reading.Header, reading.KeyHeader, reading.CommandHeader, reading.PointHeader, reading.RightHeader)
	}
	if err != nil {
		return nil, err
	}
	if r.Reading == nil {
		r.EntrySigner = keys.Log.Name()
	}
	return r, nil
}

// openLogEntry checks an entry signed by the log key and parses it.
func openLogEntry[T any](entry []byte, logKey note.Verifier, index uint64, what string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	text, err := openEntry(entry, logKey)
	if err != nil {
		return zero, fmt.Errorf("%s at %d: %w", what, index, err)
	}
	v, err := parse(text)
	if err != nil {
		return zero, fmt.Errorf("%s at %d: %w", what, index, err)
	}
	return v, nil
}

// openEntry verifies a signed entry with v and returns its text. The text
// must be everything before the first blank line, so that what reading.Parse
// reads is exactly what was signed.
func openEntry(entry []byte, v note.Verifier) ([]byte, error) {
	n, err := note.Open(entry, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, fmt.Errorf("not signed by %s", v.Name())
		}
		return nil, fmt.Errorf("signature: %w", err)
	}
	if bytes.Index(entry, []byte("\n\n"))+1 != len(n.Text) {
		return nil, fmt.Errorf("%w: blank line inside the signed text", ErrMalformed)
	}
	if err := canonicalSignatures(n); err != nil {
		return nil, err
	}
	return []byte(n.Text), nil
}
