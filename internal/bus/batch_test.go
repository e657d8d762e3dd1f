package bus

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestBatchRoundTrip(t *testing.T) {
	ms := []Message{
		{Raw: []byte("a signed note\n\n— M1 xyz\n"), Source: "mqtt:10.0.0.7", Received: time.Unix(1700000000, 5), Key: "M1+abcd+key", Device: "M1", Receipt: true},
		{Raw: []byte("x"), Received: time.Unix(-5, 0)},
	}
	got, err := DecodeBatch(EncodeBatch(ms))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		if !bytes.Equal(got[i].Raw, ms[i].Raw) || got[i].Source != ms[i].Source || !got[i].Received.Equal(ms[i].Received) || got[i].Key != ms[i].Key ||
			got[i].Device != ms[i].Device || got[i].Receipt != ms[i].Receipt {
			t.Fatalf("reading %d: %+v, want %+v", i, got[i], ms[i])
		}
	}
	// An older edge's message (SXB1: no device, no flags) still reads.
	v1, err := DecodeBatch([]byte("SXB1\x01a\x01s\x02\x01k"))
	if err != nil || len(v1) != 1 || string(v1[0].Raw) != "a" || v1[0].Source != "s" || v1[0].Key != "k" || v1[0].Device != "" || v1[0].Receipt {
		t.Fatalf("SXB1 message: %+v, %v", v1, err)
	}
	for _, bad := range [][]byte{nil, []byte("SXB1"), []byte("SXB2"), []byte("XXXX\x01a"), []byte("SXB1\x05ab"), []byte("SXB1\x01a\x00"),
		[]byte("SXB2\x01a\x01s\x02\x01k"), []byte("SXB2\x01a\x01s\x02\x01k\x01d")} {
		if _, err := DecodeBatch(bad); err == nil {
			t.Errorf("DecodeBatch(%q) took it", bad)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch([]Message{{Raw: []byte("note"), Source: "s", Received: time.Unix(1, 2), Key: "k"}}))
	f.Add([]byte("SXB1\x01a\x00\x00\x00"))
	f.Add(EncodeBatch([]Message{{Raw: []byte("note"), Source: "s", Received: time.Unix(1, 2), Key: "k", Device: "M1", Receipt: true}, {Raw: []byte("n2")}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := DecodeBatch(b)
		if err != nil {
			return
		}
		again, err := DecodeBatch(EncodeBatch(ms))
		if err != nil || !reflect.DeepEqual(len(again), len(ms)) {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		for i := range ms {
			if !bytes.Equal(again[i].Raw, ms[i].Raw) || again[i].Source != ms[i].Source || !again[i].Received.Equal(ms[i].Received) || again[i].Key != ms[i].Key ||
				again[i].Device != ms[i].Device || again[i].Receipt != ms[i].Receipt {
				t.Fatalf("reading %d changed in a round trip", i)
			}
		}
	})
}
