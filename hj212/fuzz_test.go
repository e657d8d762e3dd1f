package hj212

import (
	"errors"
	"testing"
)

func seed(f *testing.F) {
	for _, s := range samples(f) {
		f.Add([]byte(s + "\r\n"))
		f.Add([]byte(s))
	}
}

// FuzzParse: Parse never panics; a packet it accepts builds to a frame that parses back to it,
// and its data area either parses or is refused with an error.
func FuzzParse(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		raw, err := Build(p)
		if err != nil {
			if len(p.Segment()) > 9999 {
				return
			}
			t.Fatalf("accepted %q, Build refuses %+v: %v", b, p, err)
		}
		back, err := Parse(raw)
		if err != nil || back != p {
			t.Fatalf("%q → %+v → %q → %+v, %v", b, p, raw, back, err)
		}
		if d, err := ParseData(p.CP); err == nil {
			for k, v := range d.Values {
				if v != v {
					t.Fatalf("%s is NaN", k)
				}
			}
		}
	})
}

// FuzzNext: Next never panics, never reports a frame outside the buffer or above the limit, and
// a frame it finds has the length its header states.
func FuzzNext(f *testing.F) {
	seed(f)
	f.Add([]byte("junk##0010abc##0101"))
	f.Fuzz(func(t *testing.T, b []byte) {
		buf := b
		for len(buf) > 0 {
			skip, n, err := Next(buf, 1100)
			if errors.Is(err, ErrTooLong) {
				return
			}
			if err != nil {
				if skip+1 > len(buf) {
					t.Fatalf("skip %d beyond %d bytes", skip, len(buf))
				}
				buf = buf[skip+1:]
				continue
			}
			if skip+n > len(buf) || n > 1100 || skip < 0 {
				t.Fatalf("skip %d n %d of %d bytes", skip, n, len(buf))
			}
			if n == 0 {
				return
			}
			fr := buf[skip : skip+n]
			if l, _ := digits(fr[2:6]); l+Overhead != n {
				t.Fatalf("frame %q of %d bytes states %d", fr, n, l)
			}
			buf = buf[skip+n:]
		}
	})
}
