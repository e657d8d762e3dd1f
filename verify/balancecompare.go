package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/shuixiao/shuixiao/balance"
)

// MaxServedBalanceSize bounds a served balance document.
const MaxServedBalanceSize = 16 << 20

// FigureRow is one figure of a balance as recomputed from the ledger and as
// served, side by side.
type FigureRow struct {
	Figure string `json:"figure"` // RESULT.json path, e.g. intake_m3, intake_by_source_m3.ground, units[U1].in_m3
	Ledger any    `json:"ledger"` // number, string, bool or nil (absent figure)
	Served any    `json:"served"`
	Agree  bool   `json:"agree"`
}

// Declared are the figures of a balance that are declared, not metered,
// and so not on the ledger: Balance takes them from the served document.
type Declared struct {
	ValueAdded float64 // 10⁴ CNY; 0 when the served balance has none
	Production []balance.Production
	// OutputCoverage is the fraction of the period each product's output
	// records cover (balance.JudgeProduct); a product not listed counts as
	// covered.
	OutputCoverage map[string]float64
	// Note says where they were read from.
	Note string
}

// servedReport returns the object of a served balance that holds the
// RESULT.json figures: the document itself, or the member that has them
// (a route may wrap the report with its coverage and checkpoint).
func servedReport(served []byte) (map[string]any, error) {
	if len(served) > MaxServedBalanceSize {
		return nil, fmt.Errorf("served balance larger than %d bytes", MaxServedBalanceSize)
	}
	dec := json.NewDecoder(bytes.NewReader(served))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("served balance: %w", err)
	}
	if _, ok := doc["intake_m3"]; ok {
		return doc, nil
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if m, ok := doc[k].(map[string]any); ok {
			if _, ok := m["intake_m3"]; ok {
				return m, nil
			}
		}
	}
	return nil, errors.New("served balance: no intake_m3 figure: not a balance report (RESULT.json)")
}

// ServedDeclared reads the declared figures (value added, output per
// product and the share of the period its records cover) of a served
// balance, so that the recomputation evaluates the same period with them.
// Value added is the document's value_added (a number, or a period
// balance's declared figure, counted when its records cover the whole
// period); without one it is derived from the served intake and intake
// per 10⁴ CNY, and Note says so.
func ServedDeclared(served []byte) (Declared, error) {
	doc, err := servedReport(served)
	if err != nil {
		return Declared{}, err
	}
	d := Declared{Note: "production and value added are declared data, not on the ledger: taken from the served balance",
		OutputCoverage: map[string]float64{}}
	va, given := doc["value_added"]
	switch x := va.(type) {
	case json.Number:
		d.ValueAdded, _ = number(x)
	case map[string]any:
		// A period balance's declared value added counts only when its
		// records cover the whole period.
		v, ok1 := number(x["value"])
		c, ok2 := number(x["coverage"])
		if ok1 && ok2 && c >= 1 {
			d.ValueAdded = v
		}
	}
	if !given {
		in, ok1 := number(doc["intake_m3"])
		per, ok2 := number(doc["intake_per_10k_cny"])
		if ok1 && ok2 && per > 0 {
			d.ValueAdded = in / per
			d.Note += fmt.Sprintf("; value added %.6g 万元 derived from the served intake_m3 / intake_per_10k_cny", d.ValueAdded)
		}
	}
	products, _ := doc["products"].(map[string]any)
	names := make([]string, 0, len(products))
	for name := range products {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, _ := products[name].(map[string]any)
		q, ok := number(p["quantity"])
		unit, _ := p["output_unit"].(string)
		if !ok || unit == "" {
			return Declared{}, fmt.Errorf("served balance: product %s: no quantity or output_unit", name)
		}
		d.Production = append(d.Production, balance.Production{Product: name, Quantity: q, Unit: unit})
		if out, ok := p["output"].(map[string]any); ok {
			if c, ok := number(out["coverage"]); ok {
				d.OutputCoverage[name] = c
			}
		}
	}
	return d, nil
}

// CompareBalance sets the figures of a balance recomputed from the ledger
// beside those of the served balance (RESULT.json, as GET
// /api/v1/enterprises/{id}/balance returns it). Numbers agree within tol,
// relative to the larger magnitude (or absolute below 1e-9); an absent
// figure (null) agrees only with an absent one; a figure the server did
// not serve disagrees.
func CompareBalance(ledger balance.Report, served []byte, tol float64) ([]FigureRow, error) {
	mine, err := json.Marshal(ledger)
	if err != nil {
		return nil, err
	}
	mdoc, err := servedReport(mine)
	if err != nil {
		return nil, err
	}
	sdoc, err := servedReport(served)
	if err != nil {
		return nil, err
	}
	lf, sf := map[string]any{}, map[string]any{}
	flattenFigures("", mdoc, lf)
	flattenFigures("", sdoc, sf)
	names := make([]string, 0, len(lf))
	for k := range lf {
		names = append(names, k)
	}
	sort.Strings(names)
	rows := make([]FigureRow, 0, len(names))
	for _, k := range names {
		sv, ok := sf[k]
		row := FigureRow{Figure: k, Ledger: lf[k], Served: sv}
		row.Agree = ok && agree(lf[k], sv, tol)
		if !ok {
			row.Served = "(not served)"
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// notFigures are members of RESULT.json that describe figures rather than
// being figures: coverage lists, quota tables, notes.
var notFigures = []string{"coverage", "points", "missing", "note", "quota_limits", "tolerance"}

// flattenFigures collects the figures of a RESULT.json object under their
// paths: nested objects joined with ".", the units array keyed by unit,
// a figure object ({"value": …}) as its value, a list of strings (missing
// points) as one sorted, comma-joined string.
func flattenFigures(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if val, ok := x["value"]; ok && prefix != "" {
			out[prefix] = scalar(val)
			return
		}
		for k, m := range x {
			if slices.Contains(notFigures, k) {
				continue
			}
			flattenFigures(join(prefix, k), m, out)
		}
	case []any:
		var strs []string
		for i, e := range x {
			switch el := e.(type) {
			case string:
				strs = append(strs, el)
			case map[string]any:
				key := fmt.Sprint(i)
				if u, ok := el["unit"].(string); ok {
					key = u
				}
				flattenFigures(fmt.Sprintf("%s[%s]", prefix, key), el, out)
			}
		}
		if len(strs) > 0 || len(x) == 0 {
			sort.Strings(strs)
			out[prefix] = strings.Join(strs, ",")
		}
	default:
		out[prefix] = scalar(x)
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// scalar turns a decoded JSON number into a float64, leaving other values.
func scalar(v any) any {
	if f, ok := number(v); ok {
		return f
	}
	return v
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

// agree compares two figures: numbers within tol relative, anything else
// equal.
func agree(a, b any, tol float64) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB {
		d := math.Abs(fa - fb)
		return d <= 1e-9 || d <= tol*math.Max(math.Abs(fa), math.Abs(fb))
	}
	return a == b
}

// ComparePoints sets the volume and coverage of each point recomputed from
// the ledger beside those a period balance serves ("volumes",
// "point_coverage"); it returns no rows for a document without them (the
// RESULT.json of shuixiao balance). A point served but not recomputed, or
// the other way round, disagrees.
func ComparePoints(volumes balance.Volumes, coverage map[string]float64, served []byte, tol float64) ([]FigureRow, error) {
	doc, err := servedReport(served)
	if err != nil {
		return nil, err
	}
	var rows []FigureRow
	for _, part := range []struct {
		key  string
		mine map[string]float64
	}{{"volumes", volumes}, {"point_coverage", coverage}} {
		sv, ok := doc[part.key].(map[string]any)
		if !ok {
			continue
		}
		ids := map[string]bool{}
		for id := range sv {
			ids[id] = true
		}
		for id := range part.mine {
			ids[id] = true
		}
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			row := FigureRow{Figure: part.key + "." + id, Ledger: nil, Served: "(not served)"}
			if v, ok := part.mine[id]; ok {
				row.Ledger = v
			}
			if v, ok := sv[id]; ok {
				row.Served = scalar(v)
			}
			row.Agree = agree(row.Ledger, row.Served, tol)
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// ServedLedgerSize reads the ledger sizes a period balance was read at
// ("ledger": {"size", "size_after"}): every entry below size was in the
// data, and when after equals size the figures are exactly those of the
// entries below it. ok is false for a document without them.
func ServedLedgerSize(served []byte) (size, after uint64, ok bool) {
	doc, err := servedReport(served)
	if err != nil {
		return 0, 0, false
	}
	l, _ := doc["ledger"].(map[string]any)
	s, ok1 := number(l["size"])
	a, ok2 := number(l["size_after"])
	if !ok1 || !ok2 || s < 0 || a < s || s > 1<<53 || a > 1<<53 {
		return 0, 0, false
	}
	return uint64(s), uint64(a), true
}
