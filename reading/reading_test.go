package reading

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func meterSigner(t testing.TB, id string) (note.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, vkey
}

func sample() *Reading {
	return &Reading{
		Meter: "HN-430300-0001", Seq: 42,
		Time:  time.Date(2026, 11, 28, 10, 32, 40, 104e6, time.UTC),
		Point: "P-1",
		Values: []Value{
			{Channel: "total_m3", Value: 123456.789, Text: "123456.789"},
			{Channel: "flow_m3h", Value: 12.5},
		},
	}
}

func TestRoundTripAndSignature(t *testing.T) {
	s, v, _ := meterSigner(t, "HN-430300-0001")
	r := sample()
	first, err := Sign(r, s)
	if err != nil {
		t.Fatal(err)
	}
	r2 := sample()
	r2.Seq = 43
	r2.Prev = HashOf(first)
	r2.CP = "MU98Kn4imZXXqhN6+GwaeUN+QcY3wiPO+tsioSEvF1I="
	msg, err := Sign(r2, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	got, err := Parse([]byte(n.Text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, n.Text)
	}
	if got.Meter != r2.Meter || got.Seq != 43 || !got.Time.Equal(r2.Time) || got.Prev != HashOf(first) || got.Point != "P-1" || got.CP != r2.CP {
		t.Fatalf("round trip: %+v", got)
	}
	if len(got.Values) != 2 || got.Values[0].Text != "123456.789" || got.Values[1].Value != 12.5 {
		t.Fatalf("values: %+v", got.Values)
	}
	if got.Text() != n.Text {
		t.Fatalf("Text() does not reproduce the signed text:\n%q\n%q", got.Text(), n.Text)
	}
	// A changed digit breaks the signature.
	bad := []byte(strings.Replace(string(msg), "123456.789", "123456.788", 1))
	if _, err := note.Open(bad, note.VerifierList(v)); err == nil {
		t.Fatal("tampered reading verified")
	}
	if Kind(msg) != Header {
		t.Fatal("Kind")
	}
}

func TestSignWrongKey(t *testing.T) {
	s, _, _ := meterSigner(t, "OTHER")
	if _, err := Sign(sample(), s); err == nil {
		t.Fatal("signed a reading of another meter")
	}
}

func TestParseRejects(t *testing.T) {
	good := sample().Text()
	for name, text := range map[string]string{
		"empty":         "",
		"header":        strings.Replace(good, Header, "hn-water-reading/v2", 1),
		"no newline":    strings.TrimSuffix(good, "\n"),
		"missing seq":   strings.Replace(good, "seq 42\n", "", 1),
		"dup seq":       strings.Replace(good, "seq 42\n", "seq 42\nseq 43\n", 1),
		"leading zero":  strings.Replace(good, "seq 42", "seq 042", 1),
		"neg seq":       strings.Replace(good, "seq 42", "seq -1", 1),
		"bad time":      strings.Replace(good, "time 2026-11-28T10:32:40.104Z", "time yesterday", 1),
		"bad prev":      strings.Replace(good, "prev -", "prev abc", 1),
		"zero prev":     strings.Replace(good, "prev -", "prev AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1),
		"nan":           strings.Replace(good, "flow_m3h 12.5", "flow_m3h NaN", 1),
		"inf":           strings.Replace(good, "flow_m3h 12.5", "flow_m3h 1e999", 1),
		"hex":           strings.Replace(good, "flow_m3h 12.5", "flow_m3h 0x1p3", 1),
		"underscore":    strings.Replace(good, "flow_m3h 12.5", "flow_m3h 1_2", 1),
		"upper channel": strings.Replace(good, "flow_m3h", "Flow", 1),
		"dup channel":   strings.Replace(good, "flow_m3h 12.5", "total_m3 12.5", 1),
		"no channels":   strings.Split(good, "total_m3")[0],
		"space meter":   strings.Replace(good, "meter HN-430300-0001", "meter HN 1", 1),
		"two spaces":    strings.Replace(good, "flow_m3h 12.5", "flow_m3h  12.5", 1),
		"too large":     good + strings.Repeat("x", MaxSize),
	} {
		if r, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: accepted: %+v", name, r)
		}
	}
	if _, err := Parse([]byte(good + strings.Repeat("x", MaxSize))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
}

func TestKeyEntry(t *testing.T) {
	_, _, vkey := meterSigner(t, "M1")
	k := &KeyEntry{Action: ActionRegister, Meter: "M1", Enterprise: "E1", Point: "P1", Key: vkey, Signed: "meter", Time: time.Unix(1700000000, 0)}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeyEntry([]byte(k.Text()))
	if err != nil {
		t.Fatal(err)
	}
	if *got != *k && got.Text() != k.Text() {
		t.Fatalf("round trip %+v", got)
	}
	if Kind([]byte(k.Text())) != KeyHeader {
		t.Fatal("Kind")
	}
	wrongName := *k
	_, _, other := meterSigner(t, "M2")
	wrongName.Key = other
	if wrongName.Validate() == nil {
		t.Fatal("accepted a key named for another meter")
	}
	rev := &KeyEntry{Action: ActionRevoke, Meter: "M1", Time: time.Unix(1700000001, 0), Reason: "meter replaced"}
	if _, err := ParseKeyEntry([]byte(rev.Text())); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"bad action": strings.Replace(k.Text(), "register", "delete", 1),
		"unknown":    k.Text() + "color red\n",
		"dup":        k.Text() + "meter M1\n",
		"no time":    strings.Replace(k.Text(), "time ", "tim ", 1),
	} {
		if _, err := ParseKeyEntry([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestKeyEntryCollector: a collector is one optional line after "signed";
// an entry without it is byte for byte what it was before the field existed
// and names no collector; only a meter-signed registration may name one.
func TestKeyEntryCollector(t *testing.T) {
	_, _, key := meterSigner(t, "M1")
	old := KeyHeader + "\naction register\nmeter M1\nenterprise E1\npoint P1\nkey " + key + "\nsigned meter\ntime 2023-11-14T22:13:20Z\n"
	k, err := ParseKeyEntry([]byte(old))
	if err != nil || k.Collector != "" || k.Text() != old {
		t.Fatalf("entry without a collector: %+v %v\n%q", k, err, k.Text())
	}
	k.Collector = "C-1"
	want := KeyHeader + "\naction register\nmeter M1\nenterprise E1\npoint P1\nkey " + key + "\nsigned meter\ncollector C-1\ntime 2023-11-14T22:13:20Z\n"
	if k.Text() != want {
		t.Fatalf("text with a collector:\n%s\nwant\n%s", k.Text(), want)
	}
	back, err := ParseKeyEntry([]byte(want))
	if err != nil || *back != *k {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for name, text := range map[string]string{
		"bad id":          strings.Replace(want, "collector C-1", "collector C 1", 1),
		"signed gateway":  KeyHeader + "\naction register\nmeter M1\npoint P1\nsigned gateway\ngateway G1\ncollector C-1\ntime 2023-11-14T22:13:20Z\n",
		"revocation":      KeyHeader + "\naction revoke\nmeter M1\ncollector C-1\ntime 2023-11-14T22:13:20Z\n",
		"gateway's entry": KeyHeader + "\naction revoke\ngateway G1\ncollector C-1\ntime 2023-11-14T22:13:20Z\n",
		"twice":           strings.Replace(want, "collector C-1\n", "collector C-1\ncollector C-2\n", 1),
	} {
		if _, err := ParseKeyEntry([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample().Text()))
	r := sample()
	r.CP = "abc"
	r.Prev = HashOf([]byte("x"))
	f.Add([]byte(r.Text()))
	f.Add([]byte(Header + "\nmeter a\n"))
	f.Add([]byte(gatewaySample().Text()))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must format back to text that parses to the same reading.
		again, err := Parse([]byte(r.Text()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", r.Text(), err)
		}
		if again.Text() != r.Text() {
			t.Fatalf("unstable text %q vs %q", again.Text(), r.Text())
		}
	})
}

func FuzzParseKeyEntry(f *testing.F) {
	f.Add([]byte(KeyHeader + "\naction revoke\nmeter M1\ntime 2026-01-01T00:00:00Z\n"))
	f.Add([]byte(KeyHeader + "\naction revoke\ngateway G1\ntime 2026-01-01T00:00:00Z\n"))
	f.Add([]byte(KeyHeader + "\naction register\nmeter M1\npoint P\nsigned gateway\ngateway G1\ntime 2026-01-01T00:00:00Z\n"))
	_, _, vkey := meterSigner(f, "M1")
	f.Add([]byte(KeyHeader + "\naction register\nmeter M1\npoint P\nkey " + vkey + "\nsigned meter\ncollector C1\ntime 2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyEntry(data)
		if err != nil {
			return
		}
		again, err := ParseKeyEntry([]byte(k.Text()))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if again.Text() != k.Text() || again.Collector != k.Collector {
			t.Fatalf("unstable text %q vs %q", again.Text(), k.Text())
		}
	})
}

func BenchmarkParse(b *testing.B) {
	text := []byte(sample().Text())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s, v, _ := meterSigner(b, "HN-430300-0001")
	msg, _ := Sign(sample(), s)
	vl := note.VerifierList(v)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := note.Open(msg, vl); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseAllocs: a reading of four channels parses in six allocations
// (the reading, meter, point, time text, the values' slice and one string
// holding every value's channel and text), not two more per value: the
// edge parses every reading it receives.
func TestParseAllocs(t *testing.T) {
	r := sample()
	r.Values = append(r.Values, Value{Channel: "pressure_mpa", Value: 0.42}, Value{Channel: "temp_c", Value: 21.5})
	text := []byte(r.Text())
	got, err := Parse(text)
	if err != nil || len(got.Values) != 4 || got.Values[3].Channel != "temp_c" || got.Values[3].Text != "21.5" || got.Values[0].Text != "123456.789" {
		t.Fatalf("Parse: %+v, %v", got, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(text) }); n > 6 {
		t.Errorf("Parse: %v allocations, want at most 6", n)
	}
}
