package reading

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// KeyHeader is the first line of a meter-key ledger entry.
const KeyHeader = "hn-water-meter-key/v1"

// Key actions.
const (
	ActionRegister = "register"
	ActionRevoke   = "revoke"
)

// KeyEntry registers or revokes a meter's public key, or a gateway's. It is
// a signed note signed by the log's own key, so that a verifier holding only
// the log key can rebuild the key directory by replaying the ledger
// (reference/ledger.md §5.2).
//
// A gateway's entry names the gateway on its second line in place of the
// meter ("gateway GW-1"; key named GatewayKeyName, optional enterprise that
// owns an edge box). A meter whose readings a gateway signs (signed gateway)
// names that gateway on a "gateway" line after "signed" and has no key of
// its own: only that gateway's key, while registered, signs its readings.
// A meter-signed meter read by a data collector (数据采集器) names that
// gateway on a "collector" line after "signed": the collector may forward
// the meter's own signed readings, and signs none. An entry without the
// line (every entry written before it existed) names no collector.
type KeyEntry struct {
	Action     string // ActionRegister or ActionRevoke
	Meter      string // empty in a gateway's own entry
	Gateway    string // the gateway of a gateway entry, or the gateway that signs for the meter
	Enterprise string
	Point      string
	Key        string // the meter's note verifier key (register only)
	Signed     string // "meter" or "gateway": where readings are signed
	Collector  string // the gateway that forwards the meter's readings (register, signed meter only)
	Time       time.Time
	Reason     string // free text, one line (revoke)
}

// Text formats the entry as note text.
func (k *KeyEntry) Text() string {
	var b strings.Builder
	b.WriteString(KeyHeader + "\n")
	if k.IsGateway() {
		fmt.Fprintf(&b, "action %s\ngateway %s\n", k.Action, k.Gateway)
	} else {
		fmt.Fprintf(&b, "action %s\nmeter %s\n", k.Action, k.Meter)
	}
	if k.Enterprise != "" {
		fmt.Fprintf(&b, "enterprise %s\n", k.Enterprise)
	}
	if k.Point != "" {
		fmt.Fprintf(&b, "point %s\n", k.Point)
	}
	if k.Key != "" {
		fmt.Fprintf(&b, "key %s\n", k.Key)
	}
	if k.Signed != "" {
		fmt.Fprintf(&b, "signed %s\n", k.Signed)
	}
	if !k.IsGateway() && k.Gateway != "" {
		fmt.Fprintf(&b, "gateway %s\n", k.Gateway)
	}
	if k.Collector != "" {
		fmt.Fprintf(&b, "collector %s\n", k.Collector)
	}
	fmt.Fprintf(&b, "time %s\n", k.Time.UTC().Format(time.RFC3339Nano))
	if k.Reason != "" {
		fmt.Fprintf(&b, "reason %s\n", k.Reason)
	}
	return b.String()
}

// IsGateway reports whether the entry registers or revokes a gateway's key.
func (k *KeyEntry) IsGateway() bool { return k.Meter == "" && k.Gateway != "" }

// Subject is the key name the entry is about: "meter/<id>" or "gateway/<id>".
func (k *KeyEntry) Subject() string {
	if k.IsGateway() {
		return GatewayKeyName(k.Gateway)
	}
	return KeyName(k.Meter)
}

// Validate checks the fields before the entry is signed.
func (k *KeyEntry) Validate() error {
	if k.IsGateway() {
		return k.validateGateway()
	}
	if k.Gateway != "" {
		if err := validID(k.Gateway); err != nil {
			return fmt.Errorf("key entry for %s: gateway: %w", k.Meter, err)
		}
	}
	if err := validID(k.Meter); err != nil {
		return fmt.Errorf("key entry: meter: %w", err)
	}
	switch k.Action {
	case ActionRegister:
		if k.Signed != "meter" && k.Signed != "gateway" {
			return fmt.Errorf("key entry for %s: signed must be meter or gateway, got %q", k.Meter, k.Signed)
		}
		if k.Gateway != "" {
			// Signed by the named gateway's key: the meter has none.
			if k.Signed != "gateway" || k.Key != "" {
				return fmt.Errorf("key entry for %s: a meter signed by gateway %s is signed gateway and has no key of its own", k.Meter, k.Gateway)
			}
			break
		}
		v, err := note.NewVerifier(k.Key)
		if err != nil {
			return fmt.Errorf("key entry for %s: key: %w", k.Meter, err)
		}
		if v.Name() != KeyName(k.Meter) {
			return fmt.Errorf("key entry for %s: key name %q, want %q", k.Meter, v.Name(), KeyName(k.Meter))
		}
	case ActionRevoke:
	default:
		return fmt.Errorf("key entry for %s: unknown action %q", k.Meter, k.Action)
	}
	if k.Collector != "" {
		if k.Action != ActionRegister || k.Signed != "meter" {
			return fmt.Errorf("key entry for %s: only a meter-signed registration names a collector", k.Meter)
		}
		if err := validID(k.Collector); err != nil {
			return fmt.Errorf("key entry for %s: collector: %w", k.Meter, err)
		}
	}
	for _, f := range []string{k.Enterprise, k.Point} {
		if f != "" {
			if err := validID(f); err != nil {
				return fmt.Errorf("key entry for %s: %w", k.Meter, err)
			}
		}
	}
	if strings.ContainsAny(k.Reason, "\n\r") {
		return fmt.Errorf("key entry for %s: reason must be one line", k.Meter)
	}
	if k.Time.IsZero() {
		return fmt.Errorf("key entry for %s: no time", k.Meter)
	}
	return nil
}

// ParseKeyEntry parses the text of a key entry (a whole signed note is
// accepted and its signatures ignored).
func ParseKeyEntry(text []byte) (*KeyEntry, error) {
	if len(text) > MaxSize {
		return nil, ErrTooLarge
	}
	if i := bytes.Index(text, []byte("\n\n")); i >= 0 {
		text = text[:i+1]
	}
	if !bytes.HasPrefix(text, []byte(KeyHeader+"\n")) {
		return nil, fmt.Errorf("not a %s note", KeyHeader)
	}
	k := &KeyEntry{}
	lines := strings.Split(strings.TrimSuffix(string(text[len(KeyHeader)+1:]), "\n"), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		key, val, ok := strings.Cut(line, " ")
		if !ok || val == "" {
			return nil, fmt.Errorf("key entry line %d: want \"key value\"", i+2)
		}
		if seen[key] {
			return nil, fmt.Errorf("key entry line %d: duplicate %s", i+2, key)
		}
		seen[key] = true
		switch key {
		case "action":
			k.Action = val
		case "meter":
			k.Meter = val
		case "gateway":
			k.Gateway = val
		case "enterprise":
			k.Enterprise = val
		case "point":
			k.Point = val
		case "key":
			k.Key = val
		case "signed":
			k.Signed = val
		case "collector":
			k.Collector = val
		case "time":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, fmt.Errorf("key entry line %d: time: %w", i+2, err)
			}
			k.Time = t
		case "reason":
			k.Reason = val
		default:
			return nil, fmt.Errorf("key entry line %d: unknown field %q", i+2, key)
		}
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// validateGateway checks a gateway's own key entry.
func (k *KeyEntry) validateGateway() error {
	if err := validID(k.Gateway); err != nil {
		return fmt.Errorf("key entry: gateway: %w", err)
	}
	switch k.Action {
	case ActionRegister:
		v, err := note.NewVerifier(k.Key)
		if err != nil {
			return fmt.Errorf("key entry for gateway %s: key: %w", k.Gateway, err)
		}
		if v.Name() != GatewayKeyName(k.Gateway) {
			return fmt.Errorf("key entry for gateway %s: key name %q, want %q", k.Gateway, v.Name(), GatewayKeyName(k.Gateway))
		}
	case ActionRevoke:
	default:
		return fmt.Errorf("key entry for gateway %s: unknown action %q", k.Gateway, k.Action)
	}
	if k.Point != "" || k.Signed != "" || k.Collector != "" {
		return fmt.Errorf("key entry for gateway %s: a gateway has no point, no signing site and no collector", k.Gateway)
	}
	if k.Enterprise != "" {
		if err := validID(k.Enterprise); err != nil {
			return fmt.Errorf("key entry for gateway %s: %w", k.Gateway, err)
		}
	}
	if strings.ContainsAny(k.Reason, "\n\r") {
		return fmt.Errorf("key entry for gateway %s: reason must be one line", k.Gateway)
	}
	if k.Time.IsZero() {
		return fmt.Errorf("key entry for gateway %s: no time", k.Gateway)
	}
	return nil
}

// Sign signs a reading with the meter's note signer and returns the signed
// note bytes. The signer's name must be KeyName(r.Meter); a gateway-signed
// reading is signed with SignGateway.
func Sign(r *Reading, signer note.Signer) ([]byte, error) {
	if r.Via != nil {
		return nil, fmt.Errorf("sign reading of %s: a gateway-signed reading is signed by its gateway", r.Meter)
	}
	if signer.Name() != KeyName(r.Meter) {
		return nil, fmt.Errorf("sign reading of %s with key %q", r.Meter, signer.Name())
	}
	return note.Sign(&note.Note{Text: r.Text()}, signer)
}

// Kind tells what a ledger entry is by its first line.
func Kind(entry []byte) string {
	switch {
	case bytes.HasPrefix(entry, []byte(Header+"\n")):
		return Header
	case bytes.HasPrefix(entry, []byte(KeyHeader+"\n")):
		return KeyHeader
	case bytes.HasPrefix(entry, []byte(CommandHeader+"\n")):
		return CommandHeader
	case bytes.HasPrefix(entry, []byte(PointHeader+"\n")):
		return PointHeader
	case bytes.HasPrefix(entry, []byte(RightHeader+"\n")):
		return RightHeader
	}
	return ""
}
