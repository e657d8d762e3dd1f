package szy206

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the stream splitter, the frame parser and the
// self-report decoder under both time-label lengths. Nothing may panic; a frame that
// parses encodes back to the same bytes; a report that decodes encodes back to data that
// decodes to the same report. Seeds: testdata/fuzz/FuzzParse (the published and
// reference frames, built reports).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var j Joiner
		for buf := data; len(buf) > 0; {
			skip, n, err := Split(buf)
			if skip < 0 || skip > len(buf) || n < 0 || n > MaxFrame {
				t.Fatalf("Split: skip %d n %d of %d", skip, n, len(buf))
			}
			if err != nil || n == 0 || skip+n > len(buf) {
				buf = buf[min(skip+1, len(buf)):]
				continue
			}
			if fr, err := Parse(buf[skip : skip+n]); err == nil {
				_, _, _, _ = j.Add(fr, buf[skip:skip+n])
			}
			buf = buf[skip+1:]
		}
		fr, err := Parse(data)
		if err != nil {
			return
		}
		raw, err := fr.Encode()
		if err != nil || !bytes.Equal(raw, data) {
			t.Fatalf("re-encoded %X (%v), want %X", raw, err, data)
		}
		_, _ = Reply(fr)
		for _, o := range []Options{{}, {TpLen: 7}, {FlowOnly: true}} {
			r, err := DecodeReport(fr, o, now)
			if err != nil {
				continue
			}
			if r.Time.Location() != Beijing {
				t.Fatalf("time %v not in Beijing time", r.Time)
			}
			d, err := EncodeReport(r, o)
			if err != nil {
				t.Fatalf("encode decoded %+v: %v", r, err)
			}
			g := fr
			g.Data = d
			r2, err := DecodeReport(g, o, now)
			if err != nil || !reflect.DeepEqual(r2, r) {
				t.Fatalf("report round trip %+v (%v), want %+v", r2, err, r)
			}
		}
	})
}
