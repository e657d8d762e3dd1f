package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/store/aggregate"
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

const rollupVersion = 1

// encodeRollup packs the entries of one meter-hour; times are stored
// relative to the hour's start.
func encodeRollup(dst []byte, hourStart int64, es []rollupEntry) []byte {
	dst = append(dst, rollupVersion)
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	f := func(x float64) { dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x)) }
	for _, e := range es {
		dst = binary.AppendUvarint(dst, uint64(e.cid))
		dst = append(dst, kindCode(e.def.kind))
		f(e.def.ctr.Modulus)
		dst = binary.AppendUvarint(dst, uint64(e.N))
		f(e.Sum)
		f(e.Min)
		f(e.Max)
		dst = binary.AppendVarint(dst, e.FirstT-hourStart)
		f(e.First)
		dst = binary.AppendVarint(dst, e.LastT-hourStart)
		f(e.Last)
		f(e.Inc)
	}
	return dst
}

// decodeRollup unpacks a meter-hour's entries; with only != 0 it returns just
// that channel's entry (or none).
func decodeRollup(b []byte, hourStart int64, only uint32) ([]rollupEntry, error) {
	if len(b) < 2 || b[0] != rollupVersion {
		return nil, errBadRollup
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 1024 {
		return nil, errBadRollup
	}
	b = b[k:]
	var out []rollupEntry
	fail := false
	uv := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			fail = true
			return 0
		}
		b = b[k:]
		return v
	}
	sv := func() int64 {
		v, k := binary.Varint(b)
		if k <= 0 {
			fail = true
			return 0
		}
		b = b[k:]
		return v
	}
	f := func() float64 {
		if len(b) < 8 {
			fail = true
			return 0
		}
		x := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		if math.IsNaN(x) || math.IsInf(x, 0) {
			fail = true
		}
		return x
	}
	for i := uint64(0); i < n; i++ {
		var e rollupEntry
		cid := uv()
		if len(b) < 1 {
			return nil, errBadRollup
		}
		kc := b[0]
		b = b[1:]
		if cid > math.MaxUint32 || int(kc) >= len(kindCodes) {
			return nil, errBadRollup
		}
		e.cid = uint32(cid)
		e.def.kind = kindCodes[kc]
		e.def.ctr.Modulus = f()
		cnt := uv()
		e.Sum, e.Min, e.Max = f(), f(), f()
		e.FirstT = hourStart + sv()
		e.First = f()
		e.LastT = hourStart + sv()
		e.Last = f()
		e.Inc = f()
		if fail || cnt == 0 || cnt > math.MaxInt32 {
			return nil, errBadRollup
		}
		e.N = int(cnt)
		if only == 0 || e.cid == only {
			out = append(out, e)
		}
	}
	if len(b) != 0 {
		return nil, errBadRollup
	}
	return out, nil
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
