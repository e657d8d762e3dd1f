// Package certificate is the water-rights certificate (水权证书) of a
// verified water saving: the ledger entry format hn-water-right/v1 — a C2SP
// signed note (https://c2sp.org/signed-note) signed by the log key, like the
// platform's key, point and command entries — with its three operations
// (issue, transfer, retire), and the pure state fold over those entries in
// ledger order that refuses what would issue a saving twice or spend a
// holding twice.
//
// An issue points at one M&V statement (its ID, the SHA-256 digest of its
// canonical form, and the ledger checkpoint size its metered data were read
// at) and carries the statement's allowance: floor(savings − uncertainty),
// the conservative part of the saving that the statement proves. All issues
// of one statement together never exceed it.
//
// A certificate is divisible in whole cubic metres: a transfer or a
// retirement of part of a holding splits it, so one certificate may have
// several holders at once. Its volume never changes after issue; what each
// holder holds and what was retired always sum to it.
package certificate

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuixiao/shuixiao/reading"
)

// Header is the first line of a certificate entry.
const Header = reading.RightHeader

// MaxVolume bounds a volume in m³ (10¹² m³ is far above any saving).
const MaxVolume = 1_000_000_000_000

// MaxText bounds the free-text fields (issuer, actor, purpose) in bytes.
const MaxText = 256

// Op is what an entry does.
type Op string

// The operations.
const (
	OpIssue    Op = "issue"
	OpTransfer Op = "transfer"
	OpRetire   Op = "retire"
)

// Entry is one certificate operation as it stands on the ledger. Which
// fields an operation has is fixed (Text writes exactly those):
//
//	issue:    ID Certificate Statement Digest Checkpoint Allowance Volume Holder Actor(issuer) Time
//	transfer: ID Certificate From To Volume Actor Time
//	retire:   ID Certificate Holder Volume Purpose Actor Time
type Entry struct {
	Op Op
	// ID is the operation's ID, unique in the log: a replayed operation
	// is refused.
	ID          string
	Certificate string
	// Statement, Digest and Checkpoint name the M&V statement an issue
	// rests on: its ID, the hex SHA-256 of its canonical form, and the
	// ledger size its metered data were read at.
	Statement  string
	Digest     string
	Checkpoint uint64
	// Allowance is floor(savings − uncertainty) of the statement in m³:
	// the most that all issues of it may add up to.
	Allowance uint64
	// Volume in whole m³.
	Volume uint64
	// Holder is the first holder (issue: the statement's enterprise) or
	// the holder retiring (retire).
	Holder string
	// From and To are the holders of a transfer.
	From, To string
	// Purpose says why a volume is retired (free text).
	Purpose string
	// Actor is who asked: the issuer of an issue, the user acting for the
	// holder of a transfer or retirement (free text, e.g. a token ID).
	Actor string
	Time  time.Time
}

// Text formats the entry as note text. It is the entry's one canonical
// encoding: Parse accepts nothing else.
func (e *Entry) Text() string {
	var b strings.Builder
	b.WriteString(Header + "\n")
	fmt.Fprintf(&b, "op %s\nid %s\ncertificate %s\n", e.Op, e.ID, e.Certificate)
	switch e.Op {
	case OpIssue:
		fmt.Fprintf(&b, "statement %s\ndigest %s\ncheckpoint %d\nallowance %d\nvolume %d\nholder %s\nissuer %s\n",
			e.Statement, e.Digest, e.Checkpoint, e.Allowance, e.Volume, e.Holder, strconv.Quote(e.Actor))
	case OpTransfer:
		fmt.Fprintf(&b, "from %s\nto %s\nvolume %d\nby %s\n", e.From, e.To, e.Volume, strconv.Quote(e.Actor))
	case OpRetire:
		fmt.Fprintf(&b, "holder %s\nvolume %d\npurpose %s\nby %s\n", e.Holder, e.Volume, strconv.Quote(e.Purpose), strconv.Quote(e.Actor))
	}
	fmt.Fprintf(&b, "time %s\n", e.Time.UTC().Format(time.RFC3339Nano))
	return b.String()
}

// keys lists an operation's lines after "op", in their canonical order.
func keys(op Op) []string {
	switch op {
	case OpIssue:
		return []string{"id", "certificate", "statement", "digest", "checkpoint", "allowance", "volume", "holder", "issuer", "time"}
	case OpTransfer:
		return []string{"id", "certificate", "from", "to", "volume", "by", "time"}
	case OpRetire:
		return []string{"id", "certificate", "holder", "volume", "purpose", "by", "time"}
	}
	return nil
}

// Validate checks the entry's syntax and its own consistency: identifiers,
// a 64-hex digest, volumes in 1..MaxVolume (an issue within its
// allowance), distinct holders of a transfer, bounded UTF-8 text, a time.
// Whether the operation is allowed by what the log holds is the fold's
// rule (State.Apply).
func (e *Entry) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("certificate entry %s: "+format, append([]any{e.ID}, a...)...)
	}
	if err := reading.ValidID(e.ID); err != nil {
		return fmt.Errorf("certificate entry: id: %w", err)
	}
	ids := []struct{ name, v string }{{"certificate", e.Certificate}}
	switch e.Op {
	case OpIssue:
		ids = append(ids, struct{ name, v string }{"statement", e.Statement}, struct{ name, v string }{"holder", e.Holder})
		if len(e.Digest) != 64 || strings.ToLower(e.Digest) != e.Digest {
			return bad("digest %.70q is not 64 lower-case hex digits", e.Digest)
		}
		if _, err := hex.DecodeString(e.Digest); err != nil {
			return bad("digest: %v", err)
		}
		if e.Checkpoint == 0 {
			return bad("checkpoint size 0: a statement is read at a checkpoint of a non-empty log")
		}
		if e.Allowance > MaxVolume {
			return bad("allowance %d m³ is more than %d", e.Allowance, MaxVolume)
		}
		if e.Volume > e.Allowance {
			return bad("volume %d m³ is more than the statement's allowance %d m³", e.Volume, e.Allowance)
		}
	case OpTransfer:
		ids = append(ids, struct{ name, v string }{"from", e.From}, struct{ name, v string }{"to", e.To})
		if e.From == e.To {
			return bad("transfer from %s to itself", e.From)
		}
	case OpRetire:
		ids = append(ids, struct{ name, v string }{"holder", e.Holder})
		if err := validText(e.Purpose); err != nil || e.Purpose == "" {
			return bad("purpose: want 1-%d bytes of UTF-8 text", MaxText)
		}
	default:
		return bad("op %q is not issue, transfer or retire", e.Op)
	}
	for _, id := range ids {
		if err := reading.ValidID(id.v); err != nil {
			return bad("%s: %v", id.name, err)
		}
	}
	if e.Volume == 0 || e.Volume > MaxVolume {
		return bad("volume %d m³ is not in 1..%d", e.Volume, MaxVolume)
	}
	if err := validText(e.Actor); err != nil || e.Actor == "" {
		return bad("actor: want 1-%d bytes of UTF-8 text", MaxText)
	}
	if e.Time.IsZero() || e.Time.Year() < 2000 || e.Time.Year() > 9999 {
		return bad("time %v is not between the years 2000 and 9999", e.Time)
	}
	return nil
}

func validText(s string) error {
	if len(s) > MaxText || !utf8.ValidString(s) {
		return fmt.Errorf("not %d bytes of UTF-8", MaxText)
	}
	return nil
}

// Parse parses the text of a certificate entry (a whole signed note is
// accepted and its signatures ignored; checking them is the caller's, with
// the log key) and validates it. Only the canonical encoding (Text) is
// accepted, so that one operation has exactly one entry.
func Parse(text []byte) (*Entry, error) {
	if len(text) > reading.MaxSize {
		return nil, fmt.Errorf("certificate entry too large: %d bytes, more than %d", len(text), reading.MaxSize)
	}
	s := string(text)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i+1]
	}
	body, ok := strings.CutPrefix(s, Header+"\n")
	if !ok {
		return nil, fmt.Errorf("not a %s note", Header)
	}
	if !strings.HasSuffix(body, "\n") {
		return nil, fmt.Errorf("certificate entry: last line not terminated")
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	e := &Entry{}
	op, ok := strings.CutPrefix(lines[0], "op ")
	if !ok {
		return nil, fmt.Errorf("certificate entry line 2: want \"op issue|transfer|retire\"")
	}
	e.Op = Op(op)
	want := keys(e.Op)
	if want == nil {
		return nil, fmt.Errorf("certificate entry line 2: op %.20q is not issue, transfer or retire", op)
	}
	if len(lines)-1 != len(want) {
		return nil, fmt.Errorf("certificate entry: a %s has %d lines after op, not %d", e.Op, len(want), len(lines)-1)
	}
	for i, key := range want {
		lineNo := i + 3
		k, val, ok := strings.Cut(lines[i+1], " ")
		if !ok || k != key {
			return nil, fmt.Errorf("certificate entry line %d: want %q first", lineNo, key)
		}
		var err error
		switch key {
		case "id":
			e.ID = val
		case "certificate":
			e.Certificate = val
		case "statement":
			e.Statement = val
		case "digest":
			e.Digest = val
		case "checkpoint":
			e.Checkpoint, err = strconv.ParseUint(val, 10, 64)
		case "allowance":
			e.Allowance, err = strconv.ParseUint(val, 10, 64)
		case "volume":
			e.Volume, err = strconv.ParseUint(val, 10, 64)
		case "holder":
			e.Holder = val
		case "from":
			e.From = val
		case "to":
			e.To = val
		case "purpose":
			e.Purpose, err = strconv.Unquote(val)
		case "issuer", "by":
			e.Actor, err = strconv.Unquote(val)
		case "time":
			e.Time, err = time.Parse(time.RFC3339Nano, val)
		}
		if err != nil {
			return nil, fmt.Errorf("certificate entry line %d: %s: %v", lineNo, key, err)
		}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if e.Text() != s {
		return nil, fmt.Errorf("certificate entry %s: not in canonical form (number, quoting or time)", e.ID)
	}
	return e, nil
}
