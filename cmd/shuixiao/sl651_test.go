package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
	"github.com/shuixiao/shuixiao/sl651"
)

// TestSL651Decode runs shuixiao sl651 decode over the published frames with bad lines
// between them: one JSON object per line, bad ones ok:false with a reason, the rest
// decoded with their values and Beijing data time.
func TestSL651Decode(t *testing.T) {
	frames := strings.Split(strings.TrimSpace(string(testfiles.ReadFile(t, "sl651", "frames.tsv"))), "\n")
	badCRC := []byte(strings.SplitN(frames[2], "\t", 2)[0])
	badCRC[len(badCRC)-1] = '0' // CRC 20FA → 20F0
	in := strings.Join([]string{
		frames[0],
		string(badCRC),
		"7E7E0100123456",
		"not hex",
		frames[2],
		"",
		frames[4],
	}, "\n")
	var out bytes.Buffer
	if err := decodeSL651Lines(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		got = append(got, m)
	}
	if len(got) != 6 {
		t.Fatalf("%d output lines, want 6:\n%s", len(got), out.String())
	}
	wantOK := []bool{true, false, false, false, true, true}
	for i, m := range got {
		if m["ok"] != wantOK[i] {
			t.Errorf("line %v ok = %v, want %v (%v)", m["line"], m["ok"], wantOK[i], m["error"])
		}
	}
	if e, _ := got[1]["error"].(string); !strings.Contains(e, "CRC") {
		t.Errorf("bad CRC reason %q", e)
	}
	if e, _ := got[2]["error"].(string); !strings.Contains(e, "incomplete") {
		t.Errorf("short frame reason %q", e)
	}
	r := got[4]
	if r["fn"] != "30" || r["station"] != "0012345678" || r["data_time"] != "2059-10-11T15:49:00+08:00" {
		t.Errorf("test report header: %v", r)
	}
	v, _ := r["values"].(map[string]any)
	want := map[string]float64{"PJ": 0.5, "PT": 0.5, "Z": 0.127, "VT": 11.15}
	if len(v) != len(want) {
		t.Errorf("values %v", v)
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %v, want %v", k, v[k], w)
		}
	}
	if got[0]["values"] == nil || got[0]["data_time"] != "2059-10-11T15:51:11+08:00" {
		t.Errorf("link keep-alive: %v", got[0])
	}
	if got[5]["line"] != float64(7) {
		t.Errorf("line numbers count blank lines: %v", got[5]["line"])
	}
}

// TestSL651DecodePackets joins the packets of a multi-packet report given on two lines:
// the first line says which packet it is, the last carries the message's values.
func TestSL651DecodePackets(t *testing.T) {
	frames := strings.Split(strings.TrimSpace(string(testfiles.ReadFile(t, "sl651", "frames.tsv"))), "\n")
	whole, err := hex.DecodeString(strings.SplitN(frames[4], "\t", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := sl651.Parse(whole)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, part := range [][]byte{f.Body[:20], f.Body[20:]} {
		p := f
		p.Packets, p.Seq, p.Body, p.End = 2, i+1, part, sl651.ETB
		if i == 1 {
			p.End = sl651.ETX
		}
		raw, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, hex.EncodeToString(raw))
	}
	var out bytes.Buffer
	if err := decodeSL651Lines(strings.NewReader(strings.Join(lines, "\n")), &out); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 2 || got[0]["packet"] != "1/2" || got[0]["ok"] != true || len(got[0]["values"].(map[string]any)) != 0 {
		t.Fatalf("first packet: %v", got)
	}
	if v := got[1]["values"].(map[string]any); got[1]["packet"] != "2/2" || v["Z"] != 10.49 || v["VT"] != 10.99 || got[1]["data_time"] != "2017-07-18T11:00:00+08:00" {
		t.Errorf("last packet: %v", got[1])
	}
}
