package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// batchMagic starts every message body: the format's name and version.
var batchMagic = []byte("SXB1")

// EncodeBatch is the body of a message: "SXB1", then for each reading its
// signed note, source, receive time (Unix nanoseconds, zigzag varint) and
// checked key, each string as a uvarint length and its bytes.
func EncodeBatch(ms []Message) []byte {
	n := len(batchMagic)
	for _, m := range ms {
		n += len(m.Raw) + len(m.Source) + len(m.Key) + 4*binary.MaxVarintLen64
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
	}
	return b
}

// DecodeBatch parses a message body; an error names the reading and field
// that do not parse.
func DecodeBatch(b []byte) ([]Message, error) {
	if len(b) < len(batchMagic) || string(b[:len(batchMagic)]) != string(batchMagic) {
		return nil, errors.New("bus: message does not start with SXB1")
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
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("bus: message holds no reading")
	}
	return ms, nil
}
