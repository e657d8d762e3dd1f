// Package reading defines the wire formats that meters, the server and the
// independent verifier share: a meter reading as a C2SP signed note
// (c2sp.org/signed-note), the meter-key registration entry that puts a
// meter's public key on the ledger, and the actuator-command entry that
// records what was commanded, why and within which interlock bounds
// (command.go). It is the only code the verifier shares with the server.
//
// A reading is the text below, signed by the meter's Ed25519 key whose note
// key name is "meter/<meter id>" (reference/ledger.md §5):
//
//	hn-water-reading/v1
//	meter HN-430300-0001
//	seq 184467
//	time 2026-11-28T10:32:40.104Z
//	prev 6Ahp…=            (base64 SHA-256 of the meter's previous signed reading; "-" for the first)
//	point P-430300-0001-IN1
//	total_m3 123456.789
//	flow_m3h 12.5
//	cp Ab3…=               (optional: root of a checkpoint the meter has seen)
//
//	— meter/HN-430300-0001 base64(keyid||signature)
//
// Channel lines carry a channel name and a decimal value; their order is the
// meter's.
//
// A legacy device (HJ 212, SL 651, SZY 206, Modbus) cannot sign. The gateway
// that decodes its frame signs the reading instead, with its own key named
// "gateway/<gateway id>", and says so in four lines right after point, in
// this order (gateway.go):
//
//	gateway GW-430300-01   (the gateway whose key signed the note)
//	protocol hj212         (the device's protocol)
//	device 88888880000001  (the device's own address: HJ 212 MN, SL 651 station, …)
//	frame 3q2+7w…=         (base64 SHA-256 of the raw frame the values were decoded from)
//
// Such a reading has trust level gateway-signed (Trust); any other reading
// is meter-signed. A gateway-signed reading must be byte for byte the
// canonical text Text writes (Parse refuses any other order or spelling), so
// that each set of facts has one signed form. The ledger stores the signed note bytes exactly as received, so a
// reading's hash — the next reading's prev — is the SHA-256 of those bytes.
//
// Those bytes must therefore be the meter's alone. Rather than hash a
// canonical body and ignore the rest, the server refuses any reading that is
// not exactly what the meter's note.Sign wrote (CheckSigned): one signature
// line, the meter's, in canonical base64. Refusing keeps the ledger's bytes
// equal to the signed bytes, so a receipt, the verifier and the meter agree
// on every hash without a second hashing rule, and a third party cannot make
// the meter's genuine reading look like a replay by storing an altered copy
// first. Readings have no cosigners to allow for: witnesses cosign the log's
// checkpoints, not entries.
//
// Parse checks syntax only; the validity rule (validity.go) bounds every
// field — time, seq, channel names and values — and is the one rule both
// admission and the store apply.
package reading

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Header is the first line of every reading.
const Header = "hn-water-reading/v1"

// MaxSize bounds a signed reading; larger payloads are rejected unread.
const MaxSize = 4096

// MaxChannels bounds the number of channel lines in one reading.
const MaxChannels = 64

// Hash is the SHA-256 of a signed note's bytes.
type Hash [32]byte

// HashOf returns the hash that the next reading of the same meter quotes as prev.
func HashOf(signedNote []byte) Hash { return sha256.Sum256(signedNote) }

// String returns the base64 form used in notes.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// ParseHash parses the base64 form of a hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	var buf [33]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	if err != nil || n != 32 || len(s) != 44 {
		return h, fmt.Errorf("%.50q is not a base64 SHA-256", s)
	}
	copy(h[:], buf[:32])
	return h, nil
}

// IsZero reports whether h is the zero hash (no previous reading).
func (h Hash) IsZero() bool { return h == Hash{} }

// Value is one channel value of a reading. Text keeps the decimal exactly as
// the meter wrote it, so that what is stored can be compared with what was signed.
type Value struct {
	Channel string
	Value   float64
	Text    string
}

// Reading is the parsed text of a signed reading.
type Reading struct {
	Meter  string
	Seq    uint64
	Time   time.Time
	Prev   Hash // zero for a meter's first reading
	Point  string
	Values []Value
	CP     string // optional checkpoint root the meter has seen (base64)
	// Via is set for a gateway-signed reading: who signed it and from
	// which raw frame.
	Via *Via
}

// Text formats r as note text (without signatures). Values are written with
// their Text if set, otherwise in the shortest form that round-trips.
func (r *Reading) Text() string {
	var b bytes.Buffer
	b.Grow(160 + 24*len(r.Values))
	b.WriteString(Header)
	b.WriteString("\nmeter ")
	b.WriteString(r.Meter)
	b.WriteString("\nseq ")
	b.WriteString(strconv.FormatUint(r.Seq, 10))
	b.WriteString("\ntime ")
	b.WriteString(r.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString("\nprev ")
	if r.Prev.IsZero() {
		b.WriteString("-")
	} else {
		b.WriteString(r.Prev.String())
	}
	b.WriteString("\npoint ")
	b.WriteString(r.Point)
	b.WriteByte('\n')
	if r.Via != nil {
		r.Via.write(&b)
	}
	for _, v := range r.Values {
		b.WriteString(v.Channel)
		b.WriteByte(' ')
		if v.Text != "" {
			b.WriteString(v.Text)
		} else {
			b.WriteString(strconv.FormatFloat(v.Value, 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
	if r.CP != "" {
		b.WriteString("cp ")
		b.WriteString(r.CP)
		b.WriteByte('\n')
	}
	return b.String()
}

// Errors returned by Parse; callers count rejections by them.
var (
	ErrTooLarge   = errors.New("reading larger than 4096 bytes")
	ErrNotReading = errors.New("not a " + Header + " note")
	ErrMalformed  = errors.New("malformed reading")
)

// SplitNote splits a signed note into its text (ending in "\n") and the
// signature block. It checks only the framing; signatures are checked by the
// caller with golang.org/x/mod/sumdb/note.
func SplitNote(msg []byte) (text, sigs []byte, err error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, nil, fmt.Errorf("%w: no blank line before signatures", ErrMalformed)
	}
	return msg[:i+1], msg[i+2:], nil
}

// Parse parses the text of a reading (the note text, ending in "\n"; a whole
// signed note is accepted too and its signature block ignored). It does not
// verify signatures.
func Parse(text []byte) (*Reading, error) {
	if len(text) > MaxSize {
		return nil, ErrTooLarge
	}
	if i := bytes.Index(text, []byte("\n\n")); i >= 0 {
		text = text[:i+1]
	}
	if !bytes.HasPrefix(text, []byte(Header+"\n")) {
		return nil, ErrNotReading
	}
	r := &Reading{}
	// The channel values' names and texts are substrings of one string,
	// made at the first value line and running to the end of the text: one
	// allocation instead of two per value, and no more memory than theirs
	// (the values end the canonical text).
	var vals string
	valsAt := -1 // offset of vals in text
	rest := text[len(Header)+1:]
	// Every line after the five mandatory ones may be a channel value.
	r.Values = make([]Value, 0, min(MaxChannels, max(1, bytes.Count(rest, []byte("\n"))-5)))
	lineNo := 1
	var seen uint8 // bit per mandatory field
	const (
		fMeter = 1 << iota
		fSeq
		fTime
		fPrev
		fPoint
	)
	var via viaParser
	for len(rest) > 0 {
		lineNo++
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%w: line %d not terminated", ErrMalformed, lineNo)
		}
		off := len(text) - len(rest) // of the line in text and str
		line := rest[:nl]
		rest = rest[nl+1:]
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 || sp == len(line)-1 || bytes.IndexByte(line[sp+1:], ' ') >= 0 {
			return nil, fmt.Errorf("%w: line %d: want \"key value\"", ErrMalformed, lineNo)
		}
		key, val := line[:sp], line[sp+1:]
		if isViaKey(key) {
			if err := via.line(key, val, seen&fPoint != 0 && len(r.Values) == 0 && r.CP == ""); err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, lineNo, err)
			}
			continue
		}
		if via.n > 0 && via.n < viaLines {
			return nil, fmt.Errorf("%w: line %d: the gateway lines must be gateway, protocol, device, frame in a row", ErrMalformed, lineNo)
		}
		switch string(key) {
		case "meter":
			if seen&fMeter != 0 {
				return nil, fmt.Errorf("%w: line %d: duplicate meter", ErrMalformed, lineNo)
			}
			if err := validID(val); err != nil {
				return nil, fmt.Errorf("%w: line %d: meter: %v", ErrMalformed, lineNo, err)
			}
			r.Meter = string(val)
			seen |= fMeter
		case "seq":
			if seen&fSeq != 0 {
				return nil, fmt.Errorf("%w: line %d: duplicate seq", ErrMalformed, lineNo)
			}
			n, err := strconv.ParseUint(string(val), 10, 64)
			if err != nil || (len(val) > 1 && val[0] == '0') {
				return nil, fmt.Errorf("%w: line %d: seq %q is not a decimal integer", ErrMalformed, lineNo, val)
			}
			r.Seq = n
			seen |= fSeq
		case "time":
			if seen&fTime != 0 {
				return nil, fmt.Errorf("%w: line %d: duplicate time", ErrMalformed, lineNo)
			}
			t, err := time.Parse(time.RFC3339Nano, string(val))
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: time: %v", ErrMalformed, lineNo, err)
			}
			r.Time = t
			seen |= fTime
		case "prev":
			if seen&fPrev != 0 {
				return nil, fmt.Errorf("%w: line %d: duplicate prev", ErrMalformed, lineNo)
			}
			if string(val) != "-" {
				if len(val) != 44 {
					return nil, fmt.Errorf("%w: line %d: prev is not a base64 SHA-256", ErrMalformed, lineNo)
				}
				var buf [33]byte // 44 base64 characters without padding decode to 33 bytes
				n, err := base64.StdEncoding.Decode(buf[:], val)
				copy(r.Prev[:], buf[:32])
				if err != nil || n != 32 || r.Prev.IsZero() {
					return nil, fmt.Errorf("%w: line %d: prev is not a base64 SHA-256", ErrMalformed, lineNo)
				}
			}
			seen |= fPrev
		case "point":
			if seen&fPoint != 0 {
				return nil, fmt.Errorf("%w: line %d: duplicate point", ErrMalformed, lineNo)
			}
			if err := validID(val); err != nil {
				return nil, fmt.Errorf("%w: line %d: point: %v", ErrMalformed, lineNo, err)
			}
			r.Point = string(val)
			seen |= fPoint
		case "cp":
			if r.CP != "" {
				return nil, fmt.Errorf("%w: line %d: duplicate cp", ErrMalformed, lineNo)
			}
			r.CP = string(val)
		default:
			if !validChannel(key) {
				return nil, fmt.Errorf("%w: line %d: %q is not a channel name", ErrMalformed, lineNo, key)
			}
			if len(r.Values) >= MaxChannels {
				return nil, fmt.Errorf("%w: more than %d channels", ErrMalformed, MaxChannels)
			}
			for _, v := range r.Values {
				if v.Channel == string(key) {
					return nil, fmt.Errorf("%w: line %d: duplicate channel %s", ErrMalformed, lineNo, key)
				}
			}
			f, err := parseDecimal(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %s: %v", ErrMalformed, lineNo, key, err)
			}
			if valsAt < 0 {
				vals, valsAt = string(text[off:]), off
			}
			at := off - valsAt
			r.Values = append(r.Values, Value{Channel: vals[at : at+sp], Value: f, Text: vals[at+sp+1 : at+nl]})
		}
	}
	if seen != fMeter|fSeq|fTime|fPrev|fPoint {
		return nil, fmt.Errorf("%w: missing one of meter, seq, time, prev, point", ErrMalformed)
	}
	if len(r.Values) == 0 {
		return nil, fmt.Errorf("%w: no channel values", ErrMalformed)
	}
	if via.n > 0 {
		if via.n < viaLines {
			return nil, fmt.Errorf("%w: the gateway lines must be gateway, protocol, device, frame in a row", ErrMalformed)
		}
		r.Via = &via.v
		// One signed form per set of facts: a gateway signs what Text writes.
		if r.Text() != string(text) {
			return nil, fmt.Errorf("%w: a gateway-signed reading must be in canonical form", ErrMalformed)
		}
	}
	return r, nil
}

// parseDecimal accepts plain decimals (optional sign, digits, optional
// fraction, optional exponent) and rejects NaN, Inf, hex and underscores,
// which strconv.ParseFloat would otherwise take.
func parseDecimal(s []byte) (float64, error) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		ed := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	if i != len(s) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return f, nil
}

// ValidID checks an identifier of a region, park, enterprise, metering
// point, meter or command: 1–64 characters from [A-Za-z0-9._-]. These IDs
// appear in MQTT topics and in signed-note key names, which forbid spaces
// and '+'.
func ValidID(id string) error { return validID(id) }

func validID[T string | []byte](id T) error {
	if len(id) == 0 {
		return fmt.Errorf("empty id")
	}
	if len(id) > 64 {
		return fmt.Errorf("id %.20q… longer than 64 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("id %q: character %q not allowed (use A-Z a-z 0-9 . _ -)", id, c)
		}
	}
	return nil
}

// ValidChannel reports whether s is a channel name: 1–32 characters of
// [a-z0-9_], not a line key of the reading format (meter, seq, time, prev,
// point, cp, gateway, protocol, device, frame). Meters, points, interlocks and commands all name channels by
// this rule.
func ValidChannel(s string) bool { return validChannel(s) }

func validChannel[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 32 || reservedChannel(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// KeyName is the note key name a meter signs with.
func KeyName(meterID string) string { return "meter/" + meterID }
