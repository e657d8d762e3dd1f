package reading

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PointHeader is the first line of a point-registration ledger entry.
const PointHeader = "hn-water-point/v1"

// RightHeader is the first line of a water-rights certificate entry (issue,
// transfer, retire). Its format and rules are package certificate's; Kind
// knows it so that catch-up and the verifier tell it from an unknown kind.
const RightHeader = "hn-water-right/v1"

// MaxPointChannels bounds the channels of one point entry.
const MaxPointChannels = 32

// PointEntry registers a metering point, or a new version of it, on the
// ledger: everything an auditor needs to recompute a balance from the
// readings — the point's enterprise, metering level, water-cycle stage,
// intake source, place in the metering tree, balance roles and channels
// (kind and rollover decide how a channel's readings become volumes). Like
// a KeyEntry it is a signed note signed by the log's own key; of several
// entries for one point the latest in ledger order holds.
//
// The fields are meter.Point's, kept here as plain values because meter
// imports this package; meter.Point.LedgerEntry and meter.PointOf convert,
// and meter.PointOf applies the model's own validation.
type PointEntry struct {
	Point      string
	Enterprise string
	Name       string // free text (written quoted)
	NameEN     string
	Level      int
	Stage      string
	Source     string // intake points
	Parent     string // the point upstream in the metering tree
	Purpose    string // balance roles (meter/roles.go)
	Reuse      string
	From       string
	Outflow    string
	Channels   []PointChannel
	Time       time.Time
}

// PointChannel is one channel of a point entry (meter.Channel's fields).
type PointChannel struct {
	Name     string
	Kind     string
	Rollover float64
	Min, Max float64
	Unit     string // free text (written quoted)
	Quantity string // free text (written quoted)
}

// Text formats the entry as note text. It is the entry's one canonical
// encoding: ParsePointEntry accepts nothing else.
func (e *PointEntry) Text() string {
	var b strings.Builder
	b.WriteString(PointHeader + "\n")
	fmt.Fprintf(&b, "point %s\nenterprise %s\n", e.Point, e.Enterprise)
	opt := func(key, val string) {
		if val != "" {
			fmt.Fprintf(&b, "%s %s\n", key, val)
		}
	}
	if e.Name != "" {
		opt("name", strconv.Quote(e.Name))
	}
	if e.NameEN != "" {
		opt("name_en", strconv.Quote(e.NameEN))
	}
	fmt.Fprintf(&b, "level %d\nstage %s\n", e.Level, e.Stage)
	opt("source", e.Source)
	opt("parent", e.Parent)
	opt("purpose", e.Purpose)
	opt("reuse", e.Reuse)
	opt("from", e.From)
	opt("outflow", e.Outflow)
	for _, c := range e.Channels {
		fmt.Fprintf(&b, "channel %s %s %s %s %s %s %s\n", c.Name, c.Kind, formatNumber(c.Rollover), formatNumber(c.Min),
			formatNumber(c.Max), strconv.Quote(c.Unit), strconv.Quote(c.Quantity))
	}
	fmt.Fprintf(&b, "time %s\n", e.Time.UTC().Format(time.RFC3339Nano))
	return b.String()
}

// Validate checks the entry's syntax: identifiers, tokens, finite numbers,
// size. Whether the fields make a valid metering point is meter's rule
// (meter.PointOf).
func (e *PointEntry) Validate() error {
	if err := validID(e.Point); err != nil {
		return fmt.Errorf("point entry: point: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("point entry for %s: "+format, append([]any{e.Point}, a...)...)
	}
	if err := validID(e.Enterprise); err != nil {
		return bad("enterprise: %v", err)
	}
	for _, id := range []struct{ name, v string }{{"parent", e.Parent}, {"from", e.From}} {
		if id.v != "" {
			if err := validID(id.v); err != nil {
				return bad("%s: %v", id.name, err)
			}
		}
	}
	if e.Level < 1 || e.Level > 3 {
		return bad("level %d is not 1, 2 or 3", e.Level)
	}
	if !validChannel(e.Stage) {
		return bad("stage %q is not a name of [a-z0-9_]", e.Stage)
	}
	for _, tok := range []struct{ name, v string }{{"source", e.Source}, {"purpose", e.Purpose}, {"reuse", e.Reuse}, {"outflow", e.Outflow}} {
		if tok.v != "" && !validChannel(tok.v) {
			return bad("%s %q is not a name of [a-z0-9_]", tok.name, tok.v)
		}
	}
	if len(e.Channels) == 0 {
		return bad("no channels")
	}
	if len(e.Channels) > MaxPointChannels {
		return bad("%d channels, more than %d", len(e.Channels), MaxPointChannels)
	}
	for _, c := range e.Channels {
		if !validChannel(c.Name) || !validChannel(c.Kind) {
			return bad("channel %q of kind %q: names must be 1-32 of [a-z0-9_]", c.Name, c.Kind)
		}
		for _, v := range []float64{c.Rollover, c.Min, c.Max} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("channel %s: a bound or rollover is not a finite number", c.Name)
			}
		}
	}
	if e.Time.IsZero() {
		return bad("no time")
	}
	if n := len(e.Text()); n > MaxSize-512 {
		return bad("%d bytes, more than %d", n, MaxSize-512)
	}
	return nil
}

// ParsePointEntry parses the text of a point entry (a whole signed note is
// accepted and its signatures ignored) and validates it. Only the canonical
// encoding (Text) is accepted, so that one point version has one entry.
func ParsePointEntry(text []byte) (*PointEntry, error) {
	fields, text, err := entryFields(text, PointHeader, "point entry", func(key string) bool { return key == "channel" })
	if err != nil {
		return nil, err
	}
	e := &PointEntry{}
	for _, f := range fields {
		lineNo, key, val := f.line, f.key, f.val
		var err error
		switch key {
		case "point":
			e.Point = val
		case "enterprise":
			e.Enterprise = val
		case "name":
			e.Name, err = strconv.Unquote(val)
		case "name_en":
			e.NameEN, err = strconv.Unquote(val)
		case "level":
			e.Level, err = strconv.Atoi(val)
		case "stage":
			e.Stage = val
		case "source":
			e.Source = val
		case "parent":
			e.Parent = val
		case "purpose":
			e.Purpose = val
		case "reuse":
			e.Reuse = val
		case "from":
			e.From = val
		case "outflow":
			e.Outflow = val
		case "channel":
			var c PointChannel
			c, err = parsePointChannel(val)
			e.Channels = append(e.Channels, c)
		case "time":
			e.Time, err = time.Parse(time.RFC3339Nano, val)
		default:
			return nil, fmt.Errorf("point entry line %d: unknown field %q", lineNo, key)
		}
		if err != nil {
			return nil, fmt.Errorf("point entry line %d: %s: %v", lineNo, key, err)
		}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if e.Text() != string(text) {
		return nil, fmt.Errorf("point entry for %s: not in canonical form (field order, number or quoting)", e.Point)
	}
	return e, nil
}

// parsePointChannel parses "NAME KIND ROLLOVER MIN MAX "UNIT" "QUANTITY"".
func parsePointChannel(s string) (PointChannel, error) {
	var c PointChannel
	f := strings.SplitN(s, " ", 6)
	if len(f) != 6 {
		return c, fmt.Errorf("want NAME KIND ROLLOVER MIN MAX \"UNIT\" \"QUANTITY\"")
	}
	c.Name, c.Kind = f[0], f[1]
	for i, dst := range []*float64{&c.Rollover, &c.Min, &c.Max} {
		v, err := strconv.ParseFloat(f[2+i], 64)
		if err != nil {
			return c, fmt.Errorf("channel %s: %v", c.Name, err)
		}
		*dst = v
	}
	rest := f[5]
	for i, dst := range []*string{&c.Unit, &c.Quantity} {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return c, fmt.Errorf("channel %s: unit and quantity must be quoted: %v", c.Name, err)
		}
		if *dst, err = strconv.Unquote(q); err != nil {
			return c, fmt.Errorf("channel %s: %v", c.Name, err)
		}
		rest = rest[len(q):]
		if i == 0 {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, " "); !ok {
				return c, fmt.Errorf("channel %s: want a space between unit and quantity", c.Name)
			}
		}
	}
	if rest != "" {
		return c, fmt.Errorf("channel %s: text after the quantity", c.Name)
	}
	return c, nil
}

// field is one "key value" line of an entry; line counts from 1 at the
// header.
type field struct {
	line     int
	key, val string
}

// entryFields reads the text of an entry of the log key's kinds (a whole
// signed note is accepted and its signatures cut off): its size, its
// header, a terminated last line, and every line "key value", each key
// once unless multi allows it to repeat. It returns the fields and the
// text without signatures.
func entryFields(text []byte, header, what string, multi func(key string) bool) ([]field, []byte, error) {
	if len(text) > MaxSize {
		return nil, nil, ErrTooLarge
	}
	if i := bytes.Index(text, []byte("\n\n")); i >= 0 {
		text = text[:i+1]
	}
	if !bytes.HasPrefix(text, []byte(header+"\n")) {
		return nil, nil, fmt.Errorf("not a %s note", header)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return nil, nil, fmt.Errorf("%s: last line not terminated", what)
	}
	lines := strings.Split(strings.TrimSuffix(string(text[len(header)+1:]), "\n"), "\n")
	fields := make([]field, 0, len(lines))
	seen := map[string]bool{}
	for i, line := range lines {
		key, val, ok := strings.Cut(line, " ")
		if !ok || val == "" {
			return nil, nil, fmt.Errorf("%s line %d: want \"key value\"", what, i+2)
		}
		if seen[key] && !multi(key) {
			return nil, nil, fmt.Errorf("%s line %d: duplicate %s", what, i+2, key)
		}
		seen[key] = true
		fields = append(fields, field{line: i + 2, key: key, val: val})
	}
	return fields, text, nil
}
