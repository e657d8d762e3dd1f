package chunk

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// realistic makes n one-minute readings of a meter with a totaliser, a flow,
// a pressure, a pH and a conductivity channel, decimals as meters send them.
func realistic(r *rand.Rand, n int) []Record {
	recs := make([]Record, n)
	total, seq, idx := 123456.789, uint64(1000), uint64(5_000_000)
	t := int64(1_780_000_000_000)
	for i := range recs {
		t += 60_000 + int64(r.IntN(40)) - 20
		seq++
		idx += uint64(200 + r.IntN(2000))
		total += math.Round(r.Float64()*50) / 1000
		total = math.Round(total*1000) / 1000
		rec := Record{
			Seq: seq, T: t, Recv: t + 150 + int64(r.IntN(100)), Index: idx,
			Values: []Value{
				{1, total},
				{2, math.Round((10+r.Float64()*5)*100) / 100},
				{3, math.Round((0.3+r.Float64()*0.05)*1000) / 1000},
				{4, math.Round((7+r.Float64())*100) / 100},
				{5, math.Round(800 + r.Float64()*100)},
			},
		}
		for j := range rec.Hash {
			rec.Hash[j] = byte(r.Uint32())
		}
		recs[i] = rec
	}
	return recs
}

func TestRoundTripRealistic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	recs := realistic(r, 256)
	data, err := Encode(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatal("round trip differs")
	}
	// 32 bytes of hash are incompressible; the rest should be small.
	per := float64(len(data)) / float64(len(recs))
	t.Logf("%.1f bytes per reading of 5 values (%.1f besides the hash)", per, per-32)
	if per > 32+24 {
		t.Errorf("%.1f bytes per reading: the encoding lost its compression", per)
	}
}

func TestRoundTripEdgeCases(t *testing.T) {
	negZero := math.Copysign(0, -1)
	recs := []Record{
		{Seq: 0, T: -5, Recv: math.MaxInt64, Index: 0, Flags: math.MaxUint32, Values: []Value{{7, negZero}, {1, 0.1}}},
		{Seq: 1, T: math.MinInt64, Recv: math.MaxInt64, Index: math.MaxUint64, Values: []Value{{7, math.MaxFloat64}, {1, 1.0 / 3}}},
		{Seq: 2, T: math.MaxInt64, Recv: math.MinInt64, Index: 3, Values: []Value{{1, 0.1}, {7, -1e-300}}},
		{Seq: math.MaxUint64, T: 0, Recv: 0, Index: 1, Values: []Value{{math.MaxUint32, 123456789.123456789}}},
	}
	data, err := Encode(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		for j := range recs[i].Values {
			if math.Float64bits(got[i].Values[j].V) != math.Float64bits(recs[i].Values[j].V) {
				t.Errorf("record %d value %d: %v, want %v", i, j, got[i].Values[j].V, recs[i].Values[j].V)
			}
		}
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, recs)
	}
}

func TestEncodeRejects(t *testing.T) {
	v := []Value{{1, 1}}
	for _, tc := range []struct {
		name string
		recs []Record
	}{
		{"none", nil},
		{"seq not growing", []Record{{Seq: 5, Values: v}, {Seq: 5, Values: v}}},
		{"no values", []Record{{Seq: 1}}},
		{"repeated channel", []Record{{Seq: 1, Values: []Value{{1, 1}, {1, 2}}}}},
		{"NaN", []Record{{Seq: 1, Values: []Value{{1, math.NaN()}}}}},
		{"Inf", []Record{{Seq: 1, Values: []Value{{1, math.Inf(-1)}}}}},
	} {
		if _, err := Encode(nil, tc.recs); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	data, _ := Encode(nil, realistic(r, 20))
	for _, bad := range [][]byte{
		nil,
		{},
		{2, 1},
		{Version, 0},
		data[:len(data)-1],
		append(append([]byte(nil), data...), 0),
	} {
		if _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%d bytes) = %v, want ErrCorrupt", len(bad), err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	good, _ := Encode(nil, realistic(r, 5))
	f.Add(good)
	f.Add([]byte{Version, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to something that decodes the same.
		again, err := Encode(nil, recs)
		if err != nil {
			t.Fatalf("decoded records do not re-encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil || !reflect.DeepEqual(back, recs) {
			t.Fatalf("re-encoded chunk differs (%v)", err)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), int64(1_780_000_000_000), 123.456, 7.5, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, seq uint64, tm int64, a, b float64, steps []byte) {
		if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) || len(steps) > 200 {
			return
		}
		var recs []Record
		for i, s := range steps {
			if seq+uint64(s)+1 < seq {
				break
			}
			seq += uint64(s) + 1
			tm += int64(s) * 1000
			a += float64(s) / 100
			vals := []Value{{1, a}, {2, b * float64(i)}}
			if s%3 == 0 {
				vals = vals[:1]
			}
			recs = append(recs, Record{Seq: seq, T: tm, Recv: tm + int64(s), Index: uint64(i) * 7, Flags: uint32(s), Values: vals})
		}
		if len(recs) == 0 {
			return
		}
		data, err := Encode(nil, recs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if got[i].Seq != recs[i].Seq || got[i].T != recs[i].T || len(got[i].Values) != len(recs[i].Values) {
				t.Fatalf("record %d differs", i)
			}
			for j := range recs[i].Values {
				if math.Float64bits(got[i].Values[j].V) != math.Float64bits(recs[i].Values[j].V) {
					t.Fatalf("record %d value %d: %v != %v", i, j, got[i].Values[j].V, recs[i].Values[j].V)
				}
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	recs := realistic(rand.New(rand.NewPCG(1, 1)), 256)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Encode(buf[:0], recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/reading")
}

func BenchmarkDecode(b *testing.B) {
	data, _ := Encode(nil, realistic(rand.New(rand.NewPCG(1, 1)), 256))
	var d Decoder
	var r Record
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Reset(data)
		for d.Next(&r) {
		}
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/reading")
}
