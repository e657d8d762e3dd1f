package sl651

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

// normalMessage makes decoded messages comparable: times in one zone, NaN series values
// replaced, sizes that only the wire form carries dropped, empty slices nil.
func normalMessage(m Message) Message {
	m.SendTime = m.SendTime.In(Beijing)
	m.Elements = append([]Element(nil), m.Elements...)
	for i := range m.Elements {
		e := &m.Elements[i]
		e.Time = e.Time.In(Beijing)
		if e.Series != nil {
			s := make([]float64, len(e.Series))
			for j, v := range e.Series {
				s[j] = v
				if math.IsNaN(v) {
					s[j] = -1e300
				}
			}
			e.Series = s
		}
		if e.Series != nil || e.Missing {
			e.Bytes, e.Decimals = 0, 0
		}
		if len(e.Text) == 0 {
			e.Text = nil
		}
	}
	if len(m.Elements) == 0 {
		m.Elements = nil
	}
	if len(m.Rest) == 0 {
		m.Rest = nil
	}
	return m
}

// FuzzParse feeds arbitrary bytes to the stream splitter, the frame parser and the body
// decoder. Nothing may panic; a frame that parses must encode back to a frame that
// parses the same (HEX: the same bytes), and a body that decodes must encode back to a
// body that decodes the same. Seeds: testdata/fuzz/FuzzParse (the published frames, an
// ASCII frame, a packet).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for buf := data; len(buf) > 0; {
			skip, n, err := Split(buf)
			if skip < 0 || skip > len(buf) || n < 0 || n > MaxFrame {
				t.Fatalf("Split: skip %d n %d of %d", skip, n, len(buf))
			}
			if err != nil || n == 0 || skip+n > len(buf) {
				buf = buf[min(skip+1, len(buf)):]
				continue
			}
			_, _ = Parse(buf[skip : skip+n])
			buf = buf[skip+1:]
		}
		fr, err := Parse(data)
		if err != nil {
			return
		}
		raw, err := fr.Encode()
		if err != nil {
			t.Fatalf("re-encode %+v: %v", fr, err)
		}
		if fr.Mode == HEX && !bytes.Equal(raw, data) {
			t.Fatalf("re-encoded\n %X\nfrom\n %X", raw, data)
		}
		again, err := Parse(raw)
		if err != nil || !reflect.DeepEqual(again, fr) {
			t.Fatalf("re-parsed %+v (%v), want %+v", again, err, fr)
		}
		if fr.Packets > 0 {
			var r Reassembler
			w, done, err := r.Add(fr, data, time.Unix(0, 0))
			if err != nil || done != (fr.Packets == 1) {
				t.Fatalf("reassemble a lone packet %d/%d: done %v err %v", fr.Seq, fr.Packets, done, err)
			}
			if !done {
				return
			}
			fr = w.Frame
		}
		m, err := Decode(fr)
		if err != nil {
			return
		}
		if !m.DataTime().IsZero() && m.DataTime().Location() != Beijing {
			t.Fatalf("data time %v not in Beijing time", m.DataTime())
		}
		body, err := m.EncodeBody(fr.Mode)
		if err != nil {
			if fr.Mode == ASCII {
				return // ASCII bodies may hold values the builder refuses (e.g. an unknown extension's size)
			}
			t.Fatalf("encode decoded body %+v: %v", m, err)
		}
		fr.Body = body
		m2, err := Decode(fr)
		if err != nil {
			t.Fatalf("decode re-encoded body %q: %v", body, err)
		}
		if a, b := normalMessage(m2), normalMessage(m); !reflect.DeepEqual(a, b) {
			t.Fatalf("body round trip:\n got  %+v\n want %+v", a, b)
		}
	})
}
