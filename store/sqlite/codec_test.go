package sqlite

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/store/aggregate"
	"github.com/shuixiao/shuixiao/store/chunk"
)

func sampleRollup() []rollupEntry {
	return []rollupEntry{
		{cid: 1, def: chanDef{kind: meter.Total, ctr: aggregate.Counter{Modulus: 100000}}, Summary: aggregate.Summary{N: 60, Sum: 6e6, Min: 99990, Max: 100000, FirstT: 1000, First: 99990, LastT: 3599000, Last: 12.5, Inc: 22.5}},
		{cid: 7, def: chanDef{kind: meter.Interval}, Summary: aggregate.Summary{N: 1, Sum: 3, Min: 3, Max: 3, FirstT: 3599999, First: 3, LastT: 3599999, Last: 3}},
	}
}

func TestRollupRoundTrip(t *testing.T) {
	const h = 1_780_000_000_000 / hourMs * hourMs
	es := sampleRollup()
	for i := range es {
		es[i].FirstT += h
		es[i].LastT += h
	}
	data := encodeRollup(nil, h, es)
	got, err := decodeRollup(data, h, 0)
	if err != nil || !reflect.DeepEqual(got, es) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, es)
	}
	only, err := decodeRollup(data, h, 7)
	if err != nil || len(only) != 1 || only[0].cid != 7 {
		t.Fatalf("one channel: %+v %v", only, err)
	}
	for _, bad := range [][]byte{nil, {2, 0}, data[:len(data)-1], append(append([]byte(nil), data...), 0)} {
		if _, err := decodeRollup(bad, h, 0); err == nil {
			t.Errorf("decoded damaged rollup of %d bytes", len(bad))
		}
	}
}

func TestValuesRoundTrip(t *testing.T) {
	b := binary.AppendUvarint(nil, 2)
	b = binary.AppendUvarint(b, 3)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(12.5))
	b = binary.AppendUvarint(b, 300)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(-0.001))
	got, err := decodeValues(b, nil)
	want := []chunk.Value{{Channel: 3, V: 12.5}, {Channel: 300, V: -0.001}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v", got, err)
	}
	nan := binary.LittleEndian.AppendUint64(binary.AppendUvarint(binary.AppendUvarint(nil, 1), 1), math.Float64bits(math.NaN()))
	for _, bad := range [][]byte{nil, {0}, b[:len(b)-1], append(b, 0), nan} {
		if _, err := decodeValues(bad, nil); err == nil {
			t.Errorf("decoded bad values blob %x", bad)
		}
	}
}

func FuzzDecodeRollup(f *testing.F) {
	f.Add(encodeRollup(nil, 0, sampleRollup()))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := decodeRollup(data, 0, 0)
		if err != nil {
			return
		}
		again := encodeRollup(nil, 0, es)
		back, err := decodeRollup(again, 0, 0)
		if err != nil || !reflect.DeepEqual(back, es) {
			t.Fatalf("re-encoded rollup differs: %v", err)
		}
	})
}

func FuzzDecodeValues(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0x29, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := decodeValues(data, nil)
		if err != nil {
			return
		}
		if len(vs) == 0 || len(vs) > chunk.MaxValues {
			t.Fatalf("%d values accepted", len(vs))
		}
		for _, v := range vs {
			if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
				t.Fatalf("non-finite value accepted")
			}
		}
	})
}
