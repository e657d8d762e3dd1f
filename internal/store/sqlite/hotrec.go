package sqlite

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/shuixiao/shuixiao/internal/store/chunk"
)

// errBadHot reports a corrupt hot row.
var errBadHot = errors.New("corrupt head row")

// encodeHot packs a reading into one hot-table blob: one bound parameter per
// reading costs far less than nine. Layout: seq, device time, receive delay,
// ledger index, flags (varints), the 32-byte hash, the value count, then per
// value its channel number and IEEE 754 bits.
func encodeHot(dst []byte, r *chunk.Record) []byte {
	dst = binary.AppendUvarint(dst, r.Seq)
	dst = binary.AppendVarint(dst, r.T)
	dst = binary.AppendVarint(dst, r.Recv-r.T)
	dst = binary.AppendUvarint(dst, r.Index)
	dst = binary.AppendUvarint(dst, uint64(r.Flags))
	dst = append(dst, r.Hash[:]...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Values)))
	for _, v := range r.Values {
		dst = binary.AppendUvarint(dst, uint64(v.Channel))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.V))
	}
	return dst
}

// decodeHot unpacks a hot-table blob.
func decodeHot(b []byte) (chunk.Record, error) {
	var r chunk.Record
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
	r.Seq = uv()
	r.T = sv()
	r.Recv = r.T + sv()
	r.Index = uv()
	flags := uv()
	if fail || flags > math.MaxUint32 || len(b) < 32 {
		return r, errBadHot
	}
	r.Flags = uint32(flags)
	copy(r.Hash[:], b)
	b = b[32:]
	n := uv()
	if fail || n == 0 || n > chunk.MaxValues {
		return r, errBadHot
	}
	r.Values = make([]chunk.Value, n)
	for i := range r.Values {
		cid := uv()
		if fail || cid > math.MaxUint32 || len(b) < 8 {
			return r, errBadHot
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return r, errBadHot
		}
		r.Values[i] = chunk.Value{Channel: uint32(cid), V: v}
	}
	if len(b) != 0 {
		return r, errBadHot
	}
	return r, nil
}
