package reading

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// The validity rule. Parse checks a reading's syntax; Check, CheckTime,
// CheckSeq, CheckChannelCount, CheckValue and ValidChannel check that its
// fields lie in the bounds every stored reading keeps. Admission applies
// them before a reading reaches the ledger and the store's Reading.Validate
// applies the same functions before a commit, so what admission accepts the
// store can take: a reading on the ledger that the store refuses can only
// come from data written before the rule, and is quarantined, never retried.

// Bounds of a valid reading.
var (
	// MinTime is the earliest device time a reading may claim. No
	// signed-reading meter predates it; an earlier time is a clock that
	// was never set (0001-01-01, 1970-01-01).
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	// MaxTime bounds device times from above (exclusive). Admission holds
	// readings much closer to the receive time (ingest.Policy.MaxAhead);
	// this bound is the part of the rule that needs no clock.
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MaxSeq is the largest seq a reading may carry: 2⁵³−1, the largest integer
// that JSON clients (JavaScript numbers) carry exactly. A meter signing one
// reading a second takes 285 million years to reach it.
const MaxSeq = 1<<53 - 1

// MaxMagnitude bounds the absolute value of every channel value. It lies
// far beyond any water meter's register (the channel catalogue's widest
// plausible range is 10¹²) and keeps sums and differences of values finite
// and exact to the millilitre. Values outside a channel's declared
// plausible range but within this bound are admitted and flagged
// implausible: they are evidence of a faulty meter.
const MaxMagnitude = 1e15

// ErrInvalid is wrapped by every error of the validity rule.
var ErrInvalid = errors.New("invalid reading")

// CheckTime checks a device time against [MinTime, MaxTime).
func CheckTime(t time.Time) error {
	if t.Before(MinTime) || !t.Before(MaxTime) {
		return fmt.Errorf("%w: time %s outside [%s, %s)", ErrInvalid, t.UTC().Format(time.RFC3339Nano),
			MinTime.Format(time.DateOnly), MaxTime.Format(time.DateOnly))
	}
	return nil
}

// CheckSeq checks a seq against MaxSeq.
func CheckSeq(seq uint64) error {
	if seq > MaxSeq {
		return fmt.Errorf("%w: seq %d above %d", ErrInvalid, seq, uint64(MaxSeq))
	}
	return nil
}

// CheckValue checks that a channel value is finite and within ±MaxMagnitude.
func CheckValue(channel string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: %s is not finite", ErrInvalid, channel)
	}
	if math.Abs(v) > MaxMagnitude {
		return fmt.Errorf("%w: %s %g beyond ±%g", ErrInvalid, channel, v, MaxMagnitude)
	}
	return nil
}

// CheckChannelCount checks that a reading has 1 to MaxChannels values.
func CheckChannelCount(n int) error {
	if n == 0 || n > MaxChannels {
		return fmt.Errorf("%w: %d channel values, want 1-%d", ErrInvalid, n, MaxChannels)
	}
	return nil
}

// Check applies the validity rule to a parsed reading: its time, seq,
// channel names and values. It does not allocate unless it fails.
func (r *Reading) Check() error {
	if err := CheckTime(r.Time); err != nil {
		return err
	}
	if err := CheckSeq(r.Seq); err != nil {
		return err
	}
	if err := CheckChannelCount(len(r.Values)); err != nil {
		return err
	}
	for _, v := range r.Values {
		if !ValidChannel(v.Channel) {
			return fmt.Errorf("%w: channel name %q", ErrInvalid, v.Channel)
		}
		if err := CheckValue(v.Channel, v.Value); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotCanonical is returned by CheckSigned for a reading whose bytes are
// not exactly what its meter signed.
var ErrNotCanonical = errors.New("signed reading not in canonical form")

// sigPrefix starts every signature line of a note.
const sigPrefix = "\u2014 "

// CheckSigned checks that msg, which note.Open verified as n, is exactly the
// note that Sign makes: the text, a blank line and one signature line, by
// the key that verified it, in canonical base64. A reading's hash — the next
// reading's prev, and what the ledger keeps — is taken over these bytes, so
// anything a third party could add or re-encode without the meter's key
// (a signature line of another key, a second encoding of the same
// signature, a blank line that hides text from Parse) is refused rather
// than stored. Readings carry no cosignatures: witnesses cosign the log's
// checkpoints, and a gateway that signs for a legacy device signs alone,
// with its own key (gateway.go).
func CheckSigned(msg []byte, n *note.Note) error {
	if len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 0 {
		return fmt.Errorf("%w: %d signature lines, want only the meter's own", ErrNotCanonical, len(n.Sigs)+len(n.UnverifiedSigs))
	}
	if bytes.Index(msg, []byte("\n\n"))+1 != len(n.Text) {
		return fmt.Errorf("%w: blank line inside the signed text", ErrNotCanonical)
	}
	s := n.Sigs[0]
	line := msg[len(n.Text):]
	want := 1 + len(sigPrefix) + len(s.Name) + 1 + len(s.Base64) + 1
	if len(line) != want || line[0] != '\n' || string(line[1:1+len(sigPrefix)]) != sigPrefix ||
		string(line[1+len(sigPrefix):1+len(sigPrefix)+len(s.Name)]) != s.Name || line[want-len(s.Base64)-2] != ' ' || line[want-1] != '\n' {
		return fmt.Errorf("%w: signature line", ErrNotCanonical)
	}
	b64 := line[want-len(s.Base64)-1 : want-1]
	var raw [96]byte // a note signature: 4-byte key hash and a 64-byte Ed25519 signature
	var enc [128]byte
	if base64.StdEncoding.DecodedLen(len(b64)) > len(raw) {
		return fmt.Errorf("%w: signature too long", ErrNotCanonical)
	}
	k, err := base64.StdEncoding.Decode(raw[:], b64)
	if err != nil || base64.StdEncoding.EncodedLen(k) != len(b64) {
		return fmt.Errorf("%w: signature is not canonical base64", ErrNotCanonical)
	}
	base64.StdEncoding.Encode(enc[:], raw[:k])
	if !bytes.Equal(enc[:len(b64)], b64) {
		return fmt.Errorf("%w: signature is not canonical base64", ErrNotCanonical)
	}
	return nil
}
