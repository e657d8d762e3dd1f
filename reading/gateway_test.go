package reading

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func gatewaySample() *Reading {
	r := sample()
	r.Values[1].Text = "12.5"
	r.Via = &Via{Gateway: "GW-1", Protocol: "hj212", Device: "88888880000001", Frame: FrameHash([]byte("##0101QN=…"))}
	return r
}

func TestGatewayReading(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, GatewayKeyName("GW-1"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	r := gatewaySample()
	if _, err := Sign(r, s); err == nil {
		t.Fatal("Sign took a gateway-signed reading")
	}
	mkey, _, _ := meterSigner(t, r.Meter)
	if _, err := SignGateway(r, mkey); err == nil {
		t.Fatal("SignGateway took the meter's key")
	}
	signed, err := SignGateway(r, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSigned(signed, n); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Via == nil || *got.Via != *r.Via || got.Trust() != TrustGateway || got.SignerName() != "gateway/GW-1" {
		t.Fatalf("parsed %+v via %+v", got, got.Via)
	}
	if sample().Trust() != TrustMeter {
		t.Fatal("a reading without gateway lines is meter-signed")
	}
	want := "point P-1\ngateway GW-1\nprotocol hj212\ndevice 88888880000001\nframe " + r.Via.Frame.String() + "\ntotal_m3 "
	if !strings.Contains(r.Text(), want) {
		t.Fatalf("text %q lacks %q", r.Text(), want)
	}
}

func TestGatewayReadingRejects(t *testing.T) {
	text := gatewaySample().Text()
	frame := gatewaySample().Via.Frame.String()
	for name, bad := range map[string]string{
		"missing frame":      strings.Replace(text, "frame "+frame+"\n", "", 1),
		"order":              strings.Replace(text, "protocol hj212\ndevice 88888880000001\n", "device 88888880000001\nprotocol hj212\n", 1),
		"after channels":     strings.Replace(strings.Replace(text, "gateway GW-1\n", "", 1), "flow_m3h 12.5\n", "flow_m3h 12.5\ngateway GW-1\n", 1),
		"twice":              strings.Replace(text, "frame "+frame+"\n", "frame "+frame+"\ngateway GW-1\n", 1),
		"short hash":         strings.Replace(text, frame, frame[:40], 1),
		"bad device":         strings.Replace(text, "device 88888880000001", "device 8888 0001", 1),
		"bad protocol":       strings.Replace(text, "protocol hj212", "protocol HJ212", 1),
		"non-canonical time": strings.Replace(text, "10:32:40.104Z", "10:32:40.1040Z", 1),
		"before point":       strings.Replace(strings.Replace(text, "gateway GW-1\nprotocol hj212\ndevice 88888880000001\nframe "+frame+"\n", "", 1), "point P-1\n", "gateway GW-1\nprotocol hj212\ndevice 88888880000001\nframe "+frame+"\npoint P-1\n", 1),
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Parse = %v, want ErrMalformed", name, err)
		}
	}
	for _, c := range []string{"gateway", "frame", "device", "protocol", "seq"} {
		if ValidChannel(c) {
			t.Errorf("ValidChannel(%q) = true for a line key", c)
		}
	}
}

func TestGatewayKeyEntry(t *testing.T) {
	_, vkey, _ := note.GenerateKey(rand.Reader, GatewayKeyName("GW-1"))
	_, mvkey, _ := note.GenerateKey(rand.Reader, KeyName("M-1"))
	tm := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	good := []*KeyEntry{
		{Action: ActionRegister, Gateway: "GW-1", Enterprise: "EN-1", Key: vkey, Time: tm},
		{Action: ActionRevoke, Gateway: "GW-1", Reason: "box stolen", Time: tm},
		{Action: ActionRegister, Meter: "M-1", Point: "P-1", Signed: "gateway", Gateway: "GW-1", Time: tm},
	}
	for _, k := range good {
		if err := k.Validate(); err != nil {
			t.Fatalf("%+v: %v", k, err)
		}
		back, err := ParseKeyEntry([]byte(k.Text()))
		if err != nil || *back != *k {
			t.Fatalf("round trip of %q: %+v, %v", k.Text(), back, err)
		}
	}
	if !good[0].IsGateway() || good[2].IsGateway() || good[0].Subject() != "gateway/GW-1" || good[2].Subject() != "meter/M-1" {
		t.Fatal("IsGateway/Subject")
	}
	for name, k := range map[string]*KeyEntry{
		"gateway with meter key":          {Action: ActionRegister, Gateway: "GW-1", Key: mvkey, Time: tm},
		"gateway with point":              {Action: ActionRegister, Gateway: "GW-1", Key: vkey, Point: "P-1", Time: tm},
		"meter via gateway + key":         {Action: ActionRegister, Meter: "M-1", Point: "P-1", Signed: "gateway", Gateway: "GW-1", Key: mvkey, Time: tm},
		"meter via gateway, signed meter": {Action: ActionRegister, Meter: "M-1", Point: "P-1", Signed: "meter", Gateway: "GW-1", Time: tm},
		"meter without key":               {Action: ActionRegister, Meter: "M-1", Point: "P-1", Signed: "gateway", Time: tm},
	} {
		if err := k.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, k)
		}
	}
}

// FuzzParseFrameRecord: an archive line parses only if its raw bytes hash
// to the SHA-256 it names.
func FuzzParseFrameRecord(f *testing.F) {
	raw := []byte("##0101QN=1;ST=32;CN=2061&&4f80\r\n")
	f.Add([]byte(`{"sha256":"` + FrameHash(raw).String() + `","protocol":"hj212","device":"1","gateway":"G","received":"2026-12-01T00:00:00Z","raw":"` +
		base64.StdEncoding.EncodeToString(raw) + `","readings":[{"meter":"M","seq":1,"hash":"x"}]}`))
	f.Add([]byte(`{"sha256":"","raw":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseFrameRecord(line)
		if err != nil {
			return
		}
		if FrameHash(r.Raw).String() != r.SHA256 {
			t.Fatalf("record %q accepted with a wrong hash", line)
		}
	})
}
