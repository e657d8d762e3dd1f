package bus

import (
	"bytes"
	"reflect"
	"testing"
)

func TestReceiptsRoundTrip(t *testing.T) {
	rs := []Receipt{{Device: "M1", Text: "seq 42 index 1234"}, {Device: "GW-1", Text: "seq 7 rejected replay"}, {}}
	got, err := DecodeReceipts(EncodeReceipts(rs))
	if err != nil || !reflect.DeepEqual(got, rs) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{{0x05, 'a'}, {0x01, 'a'}, {0x01, 'a', 0x03, 'x'}, {0xff}} {
		if _, err := DecodeReceipts(bad); err == nil {
			t.Errorf("DecodeReceipts(%q) took it", bad)
		}
	}
}

func FuzzDecodeReceipts(f *testing.F) {
	f.Add(EncodeReceipts([]Receipt{{Device: "M1", Text: "seq 1 index 2"}}))
	f.Add([]byte{0x01, 'a', 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := DecodeReceipts(b)
		if err != nil {
			return
		}
		again, err := DecodeReceipts(EncodeReceipts(rs))
		if err != nil || len(again) != len(rs) {
			t.Fatalf("re-encoded receipts do not decode: %v", err)
		}
		for i := range rs {
			if again[i] != rs[i] {
				t.Fatalf("receipt %d changed in a round trip", i)
			}
		}
	})
}

func TestKeyChangesRoundTrip(t *testing.T) {
	ids := []string{"M1", "GW-1", "", "M-0123456789"}
	bodies := EncodeKeyChanges(ids, 8)
	var got []string
	for i, b := range bodies {
		part, err := DecodeKeyChanges(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 8 && len(part) != 1 { // only an ID longer than the limit travels over it, alone
			t.Fatalf("body %d has %d bytes, over the limit of 8: %q", i, len(b), b)
		}
		got = append(got, part...)
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("round trip: %q, want %q", got, ids)
	}
	if n := len(bodies); n != 3 {
		t.Fatalf("%d bodies for %q at 8 bytes each, want 3", n, ids)
	}
	if EncodeKeyChanges(nil, 8) != nil {
		t.Fatal("bodies for no IDs")
	}
	for _, bad := range [][]byte{{0x05, 'a'}, {0x01}, {0xff}} {
		if _, err := DecodeKeyChanges(bad); err == nil {
			t.Errorf("DecodeKeyChanges(%q) took it", bad)
		}
	}
}

func FuzzDecodeKeyChanges(f *testing.F) {
	f.Add(bytes.Join(EncodeKeyChanges([]string{"M1", "GW-1"}, MaxKeyChangeBytes), nil))
	f.Add([]byte{0x02, 'M', '1', 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := DecodeKeyChanges(b)
		if err != nil {
			return
		}
		var again []string
		for _, body := range EncodeKeyChanges(ids, 16) {
			part, err := DecodeKeyChanges(body)
			if err != nil {
				t.Fatalf("re-encoded key changes do not decode: %v", err)
			}
			again = append(again, part...)
		}
		if len(ids) > 0 && !reflect.DeepEqual(again, ids) {
			t.Fatalf("key changes changed in a round trip: %q → %q", ids, again)
		}
	})
}
