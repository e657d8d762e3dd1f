package certificate

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func issue(id, cert, stmt string, vol, allowance uint64) *Entry {
	return &Entry{Op: OpIssue, ID: id, Certificate: cert, Statement: stmt, Digest: digest, Checkpoint: 10,
		Allowance: allowance, Volume: vol, Holder: "ent-a", Actor: "regulator-1", Time: t0}
}

func transfer(id, cert, from, to string, vol uint64) *Entry {
	return &Entry{Op: OpTransfer, ID: id, Certificate: cert, From: from, To: to, Volume: vol, Actor: "tok-" + from, Time: t0}
}

func retire(id, cert, holder string, vol uint64) *Entry {
	return &Entry{Op: OpRetire, ID: id, Certificate: cert, Holder: holder, Volume: vol, Purpose: "抵消 2026 年取水量 offset", Actor: "tok-" + holder, Time: t0}
}

// TestTextGolden pins the canonical text of each operation.
func TestTextGolden(t *testing.T) {
	for _, c := range []struct {
		e    *Entry
		want string
	}{
		{issue("op-1", "wrc-1", "mvs-1", 900, 1234), "hn-water-right/v1\nop issue\nid op-1\ncertificate wrc-1\nstatement mvs-1\ndigest " + digest +
			"\ncheckpoint 10\nallowance 1234\nvolume 900\nholder ent-a\nissuer \"regulator-1\"\ntime 2026-03-01T08:00:00Z\n"},
		{transfer("op-2", "wrc-1", "ent-a", "ent-b", 300), "hn-water-right/v1\nop transfer\nid op-2\ncertificate wrc-1\nfrom ent-a\nto ent-b\nvolume 300\nby \"tok-ent-a\"\ntime 2026-03-01T08:00:00Z\n"},
		{retire("op-3", "wrc-1", "ent-b", 100), "hn-water-right/v1\nop retire\nid op-3\ncertificate wrc-1\nholder ent-b\nvolume 100\npurpose \"抵消 2026 年取水量 offset\"\nby \"tok-ent-b\"\ntime 2026-03-01T08:00:00Z\n"},
	} {
		if got := c.e.Text(); got != c.want {
			t.Errorf("%s text:\n%s\nwant\n%s", c.e.Op, got, c.want)
		}
		e, err := Parse([]byte(c.want + "\n— log.example Az3grlgt...\n"))
		if err != nil {
			t.Fatalf("parse %s: %v", c.e.Op, err)
		}
		if e.Text() != c.want {
			t.Errorf("round trip of %s differs", c.e.Op)
		}
	}
}

// TestParseRefuses lists texts that are not canonical certificate entries,
// each with the part of the reason the error must name.
func TestParseRefuses(t *testing.T) {
	good := issue("op-1", "wrc-1", "mvs-1", 900, 1234).Text()
	for _, c := range []struct {
		name, text, reason string
	}{
		{"other kind", strings.Replace(good, "hn-water-right/v1", "hn-water-point/v1", 1), "not a hn-water-right/v1"},
		{"unterminated", strings.TrimSuffix(good, "\n"), "not terminated"},
		{"unknown op", strings.Replace(good, "op issue", "op mint", 1), "not issue, transfer or retire"},
		{"line missing", strings.Replace(good, "allowance 1234\n", "", 1), "lines after op"},
		{"order", strings.Replace(good, "id op-1\ncertificate wrc-1", "certificate wrc-1\nid op-1", 1), "want \"id\""},
		{"leading zero", strings.Replace(good, "volume 900", "volume 0900", 1), "canonical"},
		{"plus sign", strings.Replace(good, "volume 900", "volume +900", 1), "volume"},
		{"negative", strings.Replace(good, "volume 900", "volume -9", 1), "volume"},
		{"zero volume", strings.Replace(good, "volume 900", "volume 0", 1), "not in 1.."},
		{"over allowance", strings.Replace(good, "volume 900", "volume 1235", 1), "more than the statement's allowance"},
		{"upper-case digest", strings.Replace(good, "abcdef\n", "ABCDEF\n", 1), "lower-case hex"},
		{"short digest", strings.Replace(good, digest, digest[:62], 1), "64"},
		{"checkpoint 0", strings.Replace(good, "checkpoint 10", "checkpoint 0", 1), "checkpoint size 0"},
		{"bad id", strings.Replace(good, "holder ent-a", "holder ent a", 1), "not allowed"},
		{"unquoted issuer", strings.Replace(good, `"regulator-1"`, "regulator-1", 1), "issuer"},
		{"local time", strings.Replace(good, "2026-03-01T08:00:00Z", "2026-03-01T16:00:00+08:00", 1), "canonical"},
		{"self transfer", transfer("op-2", "wrc-1", "ent-a", "ent-a", 1).Text(), "to itself"},
		{"no purpose", strings.Replace(retire("op-3", "wrc-1", "ent-b", 1).Text(), `"抵消 2026 年取水量 offset"`, `""`, 1), "purpose"},
		{"too large", good + strings.Repeat("x", 5000), "too large"},
	} {
		_, err := Parse([]byte(c.text))
		if err == nil {
			t.Errorf("%s: parsed", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.reason)
		}
	}
}

// FuzzParse: whatever parses is canonical, valid and round-trips.
func FuzzParse(f *testing.F) {
	f.Add([]byte(issue("op-1", "wrc-1", "mvs-1", 900, 1234).Text()))
	f.Add([]byte(transfer("op-2", "wrc-1", "ent-a", "ent-b", 300).Text()))
	f.Add([]byte(retire("op-3", "wrc-1", "ent-b", 100).Text()))
	f.Fuzz(func(t *testing.T, text []byte) {
		e, err := Parse(text)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("parsed an invalid entry: %v", err)
		}
		again, err := Parse([]byte(e.Text()))
		if err != nil || again.Text() != e.Text() {
			t.Fatalf("round trip: %v", err)
		}
	})
}
