package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Message bodies start with the format's name and version. SXB2 adds the
// sender and whether it wants a receipt; SXB1 (written by older edges) is
// still read.
var (
	batchMagicV1 = []byte("SXB1")
	batchMagic   = []byte("SXB2")
)

// EncodeBatch is the body of a message: "SXB2", then for each reading its
// signed note, source, receive time (Unix nanoseconds, zigzag varint),
// checked key, device and a flags byte (1: the device wants a receipt),
// each string as a uvarint length and its bytes.
func EncodeBatch(ms []Message) []byte {
	n := len(batchMagic)
	for _, m := range ms {
		n += len(m.Raw) + len(m.Source) + len(m.Key) + len(m.Device) + 5*binary.MaxVarintLen64 + 1
	}
	b := make([]byte, 0, n)
	b = append(b, batchMagic...)
	for _, m := range ms {
		b = binary.AppendUvarint(b, uint64(len(m.Raw)))
		b = append(b, m.Raw...)
		b = binary.AppendUvarint(b, uint64(len(m.Source)))
		b = append(b, m.Source...)
		b = binary.AppendVarint(b, m.Received.UnixNano())
		b = binary.AppendUvarint(b, uint64(len(m.Key)))
		b = append(b, m.Key...)
		b = binary.AppendUvarint(b, uint64(len(m.Device)))
		b = append(b, m.Device...)
		var flags byte
		if m.Receipt {
			flags |= flagReceipt
		}
		b = append(b, flags)
	}
	return b
}

const flagReceipt = 1

// DecodeBatch parses a message body; an error names the reading and field
// that do not parse.
func DecodeBatch(b []byte) ([]Message, error) {
	var v2 bool
	switch {
	case len(b) >= len(batchMagic) && string(b[:len(batchMagic)]) == string(batchMagic):
		v2 = true
	case len(b) >= len(batchMagicV1) && string(b[:len(batchMagicV1)]) == string(batchMagicV1):
	default:
		return nil, errors.New("bus: message does not start with SXB2 or SXB1")
	}
	b = b[len(batchMagic):]
	var ms []Message
	for i := 0; len(b) > 0; i++ {
		var m Message
		str := func(field string) ([]byte, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)-k) {
				return nil, fmt.Errorf("bus: reading %d: %s: bad length", i, field)
			}
			s := b[k : k+int(n)]
			b = b[k+int(n):]
			return s, nil
		}
		raw, err := str("note")
		if err != nil {
			return nil, err
		}
		src, err := str("source")
		if err != nil {
			return nil, err
		}
		ns, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("bus: reading %d: received: bad varint", i)
		}
		b = b[k:]
		key, err := str("key")
		if err != nil {
			return nil, err
		}
		m.Raw, m.Source, m.Received, m.Key = raw, string(src), time.Unix(0, ns), string(key)
		if v2 {
			dev, err := str("device")
			if err != nil {
				return nil, err
			}
			if len(b) == 0 {
				return nil, fmt.Errorf("bus: reading %d: flags missing", i)
			}
			m.Device, m.Receipt = string(dev), b[0]&flagReceipt != 0
			b = b[1:]
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("bus: message holds no reading")
	}
	return ms, nil
}
