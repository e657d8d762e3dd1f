package actuate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Topic prefixes of docs/mqtt.md.
const (
	CommandsTopic = "shuixiao/v1/commands/"
	AcksTopic     = "shuixiao/v1/acks/"
)

// Message is a command as a device receives it on
// shuixiao/v1/commands/<device> (QoS 1, docs/mqtt.md).
type Message struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Command string    `json:"command"`
	Value   float64   `json:"value"`
	Unit    string    `json:"unit,omitempty"`
	Cause   string    `json:"cause"`
}

// AckMessage is a device's answer on shuixiao/v1/acks/<device>.
type AckMessage struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// MaxAckSize bounds an acknowledgement payload.
const MaxAckSize = 2048

// ParseAck decodes an acknowledgement strictly: one JSON object with an id
// and an ok field, nothing else, at most MaxAckSize bytes.
func ParseAck(payload []byte) (AckMessage, error) {
	if len(payload) > MaxAckSize {
		return AckMessage{}, fmt.Errorf("ack of %d bytes (limit %d)", len(payload), MaxAckSize)
	}
	var raw struct {
		ID     *string `json:"id"`
		OK     *bool   `json:"ok"`
		Detail string  `json:"detail"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return AckMessage{}, fmt.Errorf("ack: %w", err)
	}
	if dec.More() {
		return AckMessage{}, errors.New("ack: trailing data after the JSON object")
	}
	if raw.ID == nil || *raw.ID == "" || raw.OK == nil {
		return AckMessage{}, errors.New(`ack: "id" and "ok" are required`)
	}
	if len(raw.Detail) > 256 {
		raw.Detail = raw.Detail[:256]
	}
	return AckMessage{ID: *raw.ID, OK: *raw.OK, Detail: oneLine(strings.ToValidUTF8(raw.Detail, ""))}, nil
}

// ParseMessage decodes a command (devices and tests use it).
func ParseMessage(payload []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("command: %w", err)
	}
	if m.ID == "" || m.Command == "" {
		return m, errors.New(`command: "id" and "command" are required`)
	}
	return m, nil
}

// oneLine folds control characters to spaces and trims, so device text can
// go into a one-line ledger field.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(bytes.TrimSpace(b))
}
