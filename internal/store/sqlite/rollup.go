package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

const (
	hourMs = 3_600_000
	dayMs  = 86_400_000
)

// chanDef is what aggregation needs to know about a channel.
type chanDef struct {
	kind meter.Kind
	ctr  aggregate.Counter
}

func defOf(c meter.Channel) chanDef {
	return chanDef{kind: c.Kind, ctr: aggregate.CounterFor(c)}
}

// rateDef is assumed for channels a point does not declare.
var rateDef = chanDef{kind: meter.Rate}

// rollupEntry is one channel's summary of one meter-hour, with the channel
// definition it was built under: a query whose current definition differs
// (a point's channel was redefined) reads the readings instead.
type rollupEntry struct {
	cid uint32
	def chanDef
	aggregate.Summary
}

var kindCodes = []meter.Kind{meter.Rate, meter.Total, meter.Interval}

func kindCode(k meter.Kind) byte {
	for i, c := range kindCodes {
		if c == k {
			return byte(i)
		}
	}
	return 0
}

// errBadRollup reports a corrupt rollup blob.
var errBadRollup = errors.New("corrupt rollup")

const rollupVersion = 2

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// appendFloat writes x as a tag byte e and a varint m when x == m/10^e
// exactly (meter values are short decimals, so are most sums of them), else
// as tag 0xff and the IEEE 754 bits.
func appendFloat(dst []byte, x float64) []byte {
	if math.Float64bits(x) != 1<<63 {
		for e := 0; e < len(pow10); e++ {
			y := x * pow10[e]
			if math.Abs(y) >= 1<<53 {
				break
			}
			if m := math.Round(y); m/pow10[e] == x {
				return binary.AppendVarint(append(dst, byte(e)), int64(m))
			}
		}
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), math.Float64bits(x))
}

// encodeRollup packs the entries of one meter-hour: per channel its number,
// the length of the rest, its kind (with the rollover modulus and the
// consumption for totalisers only), count, sum, min, max, first and last
// (times relative to the hour's start). The length lets a reader that wants
// one channel skip the others.
func encodeRollup(dst []byte, hourStart int64, es []rollupEntry) []byte {
	dst = append(dst, rollupVersion)
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	var body []byte
	for _, e := range es {
		body = append(body[:0], kindCode(e.def.kind))
		if e.def.kind == meter.Total {
			body = appendFloat(body, e.def.ctr.Modulus)
		}
		body = binary.AppendUvarint(body, uint64(e.N))
		body = appendFloat(body, e.Sum)
		body = appendFloat(body, e.Min)
		body = appendFloat(body, e.Max)
		body = binary.AppendVarint(body, e.FirstT-hourStart)
		body = appendFloat(body, e.First)
		body = binary.AppendVarint(body, e.LastT-hourStart)
		body = appendFloat(body, e.Last)
		if e.def.kind == meter.Total {
			body = appendFloat(body, e.Inc)
		}
		dst = binary.AppendUvarint(dst, uint64(e.cid))
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		dst = append(dst, body...)
	}
	return dst
}

// rollupReader decodes a rollup blob; the first error sticks.
type rollupReader struct {
	b   []byte
	bad bool
}

func (r *rollupReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *rollupReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *rollupReader) float() float64 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	tag := r.b[0]
	r.b = r.b[1:]
	var x float64
	switch {
	case tag == 0xff:
		if len(r.b) < 8 {
			r.bad = true
			return 0
		}
		x = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		r.b = r.b[8:]
	case int(tag) < len(pow10):
		m := r.varint()
		if m >= 1<<53 || m <= -(1<<53) {
			r.bad = true
		}
		x = float64(m) / pow10[tag]
	default:
		r.bad = true
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		r.bad = true
	}
	return x
}

// decodeRollup unpacks a meter-hour's entries; with only != 0 it returns just
// that channel's entry (or none), skipping the others unread.
func decodeRollup(b []byte, hourStart int64, only uint32) ([]rollupEntry, error) {
	if len(b) < 2 || b[0] != rollupVersion {
		return nil, errBadRollup
	}
	r := rollupReader{b: b[1:]}
	n := r.uvarint()
	if r.bad || n > 1024 {
		return nil, errBadRollup
	}
	var out []rollupEntry
	for i := uint64(0); i < n; i++ {
		cid := r.uvarint()
		size := r.uvarint()
		if r.bad || cid > math.MaxUint32 || size > uint64(len(r.b)) {
			return nil, errBadRollup
		}
		body := rollupReader{b: r.b[:size]}
		r.b = r.b[size:]
		if only != 0 && uint32(cid) != only {
			continue
		}
		e, ok := body.entry(uint32(cid), hourStart)
		if !ok {
			return nil, errBadRollup
		}
		out = append(out, e)
	}
	if len(r.b) != 0 {
		return nil, errBadRollup
	}
	return out, nil
}

// entry decodes one channel's body.
func (r *rollupReader) entry(cid uint32, hourStart int64) (rollupEntry, bool) {
	e := rollupEntry{cid: cid}
	if len(r.b) < 1 || int(r.b[0]) >= len(kindCodes) {
		return e, false
	}
	e.def.kind = kindCodes[r.b[0]]
	r.b = r.b[1:]
	if e.def.kind == meter.Total {
		e.def.ctr.Modulus = r.float()
	}
	cnt := r.uvarint()
	e.Sum, e.Min, e.Max = r.float(), r.float(), r.float()
	e.FirstT = hourStart + r.varint()
	e.First = r.float()
	e.LastT = hourStart + r.varint()
	e.Last = r.float()
	if e.def.kind == meter.Total {
		e.Inc = r.float()
	}
	if r.bad || len(r.b) != 0 || cnt == 0 || cnt > math.MaxInt32 {
		return e, false
	}
	e.N = int(cnt)
	return e, true
}

// entryOf returns the entry of channel cid.
func entryOf(es []rollupEntry, cid uint32) *rollupEntry {
	for i := range es {
		if es[i].cid == cid {
			return &es[i]
		}
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// fmtHour formats an hour number for error messages.
func fmtHour(h int64) string { return fmt.Sprintf("hour %d", h) }
