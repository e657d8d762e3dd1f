package bus

import (
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
