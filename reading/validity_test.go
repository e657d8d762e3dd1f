package reading

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestCheck(t *testing.T) {
	mut := func(f func(r *Reading)) *Reading { r := sample(); f(r); return r }
	for name, tc := range map[string]struct {
		r  *Reading
		ok bool
	}{
		"sample":            {sample(), true},
		"at MinTime":        {mut(func(r *Reading) { r.Time = MinTime }), true},
		"just before Max":   {mut(func(r *Reading) { r.Time = MaxTime.Add(-time.Nanosecond) }), true},
		"zero time":         {mut(func(r *Reading) { r.Time = time.Time{} }), false},
		"year 1":            {mut(func(r *Reading) { r.Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) }), false},
		"1970":              {mut(func(r *Reading) { r.Time = time.Unix(0, 0) }), false},
		"year 9999":         {mut(func(r *Reading) { r.Time = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) }), false},
		"at MaxTime":        {mut(func(r *Reading) { r.Time = MaxTime }), false},
		"seq MaxSeq":        {mut(func(r *Reading) { r.Seq = MaxSeq }), true},
		"seq MaxSeq+1":      {mut(func(r *Reading) { r.Seq = MaxSeq + 1 }), false},
		"seq 2^64-1":        {mut(func(r *Reading) { r.Seq = math.MaxUint64 }), false},
		"value at bound":    {mut(func(r *Reading) { r.Values[0].Value = -MaxMagnitude }), true},
		"value beyond":      {mut(func(r *Reading) { r.Values[0].Value = 1.0000001e15 }), false},
		"NaN":               {mut(func(r *Reading) { r.Values[1].Value = math.NaN() }), false},
		"-Inf":              {mut(func(r *Reading) { r.Values[1].Value = math.Inf(-1) }), false},
		"channel uppercase": {mut(func(r *Reading) { r.Values[1].Channel = "Flow" }), false},
		"channel too long":  {mut(func(r *Reading) { r.Values[1].Channel = strings.Repeat("a", 33) }), false},
		"no values":         {mut(func(r *Reading) { r.Values = nil }), false},
	} {
		err := tc.r.Check()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Check() = %v, want ok %v", name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", name, err)
		}
	}
}

// TestCheckSigned: only the bytes note.Sign makes pass; every variant a third
// party can produce without the meter's key, and note.Open still accepts, is
// refused.
func TestCheckSigned(t *testing.T) {
	s, v, _ := meterSigner(t, "HN-430300-0001")
	msg, err := Sign(sample(), s)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := meterSigner(t, "someone-else")
	otherSig, err := note.Sign(&note.Note{Text: sample().Text()}, other)
	if err != nil {
		t.Fatal(err)
	}
	_, sigs, _ := SplitNote(msg)
	_, extra, _ := SplitNote(otherSig)
	// The character before the signature's "=" carries 2 bits that
	// decoding ignores; the meter wrote them as zero.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b64 := strings.Fields(string(sigs))[2]
	c := strings.IndexByte(alphabet, b64[len(b64)-2])
	flipped := b64[:len(b64)-2] + alphabet[c^1:c^1+1] + b64[len(b64)-1:]
	text := []byte(sample().Text())
	for name, tc := range map[string]struct {
		msg []byte
		ok  bool
	}{
		"as signed":                {msg, true},
		"unknown key's line after": {append(bytes.Clone(msg), extra...), false},
		"unknown key's line first": {append(append(append(bytes.Clone(text), '\n'), extra...), sigs...), false},
		"signature line twice":     {append(bytes.Clone(msg), sigs...), false},
		"non-canonical base64":     {bytes.Replace(msg, []byte(b64), []byte(flipped), 1), false},
		"CR inside base64":         {bytes.Replace(msg, []byte(b64), []byte(b64[:10]+"\r"+b64[10:]), 1), false},
	} {
		n, err := note.Open(tc.msg, note.VerifierList(v))
		if err != nil {
			if tc.ok {
				t.Errorf("%s: note.Open: %v", name, err)
			}
			continue // note itself refuses it: fine either way
		}
		err = CheckSigned(tc.msg, n)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckSigned = %v, want ok %v", name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrNotCanonical) {
			t.Errorf("%s: %v does not wrap ErrNotCanonical", name, err)
		}
	}
	// The variant that must reach CheckSigned to be caught does reach it.
	if _, err := note.Open(append(bytes.Clone(msg), extra...), note.VerifierList(v)); err != nil {
		t.Fatalf("note.Open refuses an extra unknown signature (%v); the test no longer exercises CheckSigned", err)
	}
}

// BenchmarkCheck measures the validity rule and the canonical-bytes check as
// ingest runs them on each reading; neither should allocate.
func BenchmarkCheck(b *testing.B) {
	s, v, _ := meterSigner(b, "HN-430300-0001")
	msg, err := Sign(sample(), s)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Parse(msg)
	if err != nil {
		b.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Check(); err != nil {
			b.Fatal(err)
		}
		if err := CheckSigned(msg, n); err != nil {
			b.Fatal(err)
		}
	}
}
