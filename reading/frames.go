package reading

import (
	"encoding/json"
	"fmt"
	"time"
)

// FrameRecord is one line of a gateway's raw-frame archive: the exact bytes a
// legacy device sent and the gateway-signed readings made from them. The
// archive is a directory of JSON-lines files (frames-YYYY-MM-DD.jsonl, UTC
// receive date), appended and synced before any of the readings is
// submitted, so every gateway-signed reading on the ledger has its frame in
// the archive of the gateway that signed it. An auditor finds a reading's
// frame by the SHA-256 the reading quotes and checks that the raw bytes hash
// to it (verify.CheckFrames). A poll of a Modbus device whose registers
// have not changed sends the same bytes again: several records (at
// different times) may then share one hash, each listing its own readings.
type FrameRecord struct {
	SHA256   string         `json:"sha256"` // base64 SHA-256 of Raw, as in a reading's frame line
	Protocol string         `json:"protocol"`
	Device   string         `json:"device"`
	Gateway  string         `json:"gateway"`
	Time     time.Time      `json:"time"` // the data time the frame states
	Received time.Time      `json:"received"`
	Raw      []byte         `json:"raw"` // base64 in JSON
	Readings []FrameReading `json:"readings"`
	// Values are the decoded fields, for a reader's convenience; the raw
	// bytes are the evidence.
	Values map[string]float64 `json:"values,omitempty"`
}

// FrameReading names a reading made from a frame.
type FrameReading struct {
	Meter string `json:"meter"`
	Seq   uint64 `json:"seq"`
	Hash  string `json:"hash"` // base64 SHA-256 of the signed reading
}

// MaxFrameRecord bounds one archive line (a frame is at most a few kB; HJ
// 212 split packets at most a few dozen of them).
const MaxFrameRecord = 1 << 20

// ParseFrameRecord parses one archive line and checks that its raw bytes
// hash to its sha256.
func ParseFrameRecord(line []byte) (*FrameRecord, error) {
	if len(line) > MaxFrameRecord {
		return nil, fmt.Errorf("frame record of %d bytes, limit %d", len(line), MaxFrameRecord)
	}
	var r FrameRecord
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("frame record: %w", err)
	}
	if got := FrameHash(r.Raw).String(); got != r.SHA256 {
		return nil, fmt.Errorf("frame record of %s/%s: raw bytes hash to %s, record says %s", r.Protocol, r.Device, got, r.SHA256)
	}
	return &r, nil
}
