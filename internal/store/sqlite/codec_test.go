package sqlite

import (
	"math"
	"reflect"
	"testing"

	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/internal/store/chunk"
	"github.com/shuixiao/shuixiao/meter"
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
	for _, bad := range [][]byte{nil, {9, 0}, data[:len(data)-1], append(append([]byte(nil), data...), 0)} {
		if _, err := decodeRollup(bad, h, 0); err == nil {
			t.Errorf("decoded damaged rollup of %d bytes", len(bad))
		}
	}
}

func TestHotRoundTrip(t *testing.T) {
	recs := []chunk.Record{
		{Seq: 7, T: 1_780_000_000_123, Recv: 1_780_000_000_400, Index: 99, Flags: 5, Hash: [32]byte{1, 2, 3}, Values: []chunk.Value{{Channel: 3, V: 12.5}, {Channel: 300, V: -0.001}}},
		{Seq: math.MaxUint64, T: math.MinInt64, Recv: math.MaxInt64, Index: math.MaxUint64, Flags: math.MaxUint32, Values: []chunk.Value{{Channel: math.MaxUint32, V: math.MaxFloat64}}},
	}
	for _, r := range recs {
		b := encodeHot(nil, &r)
		got, err := decodeHot(b)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, r)
		}
		for _, bad := range [][]byte{nil, b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
			if _, err := decodeHot(bad); err == nil {
				t.Errorf("decoded a damaged head row of %d bytes", len(bad))
			}
		}
	}
	nan := recs[0]
	nan.Values = []chunk.Value{{Channel: 1, V: math.NaN()}}
	if _, err := decodeHot(encodeHot(nil, &nan)); err == nil {
		t.Error("decoded a NaN")
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

func FuzzDecodeHot(f *testing.F) {
	f.Add(encodeHot(nil, &chunk.Record{Seq: 1, T: 2, Recv: 3, Values: []chunk.Value{{Channel: 1, V: 1.5}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeHot(data)
		if err != nil {
			return
		}
		if len(r.Values) == 0 || len(r.Values) > chunk.MaxValues {
			t.Fatalf("%d values accepted", len(r.Values))
		}
		if again := encodeHot(nil, &r); !reflect.DeepEqual(again, data) {
			t.Fatalf("decoded row re-encodes differently")
		}
	})
}
