package balance

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// maxInputBytes bounds an input file; a larger one is refused rather than
// half read (a variable so that tests can lower it).
var maxInputBytes int64 = 64 << 20

// Input limits: a file beyond them is refused rather than half read.
const (
	maxRows = 1_000_000
	// MaxVolume bounds a point's volume over a period (m³): Hunan's whole
	// industry takes about 5·10⁹ m³ a year.
	MaxVolume = 1e10
	// MaxQuantity bounds a product's output over a period, in its unit.
	MaxQuantity = 1e8
	// MaxValueAdded bounds value added over a period (10⁴ CNY).
	MaxValueAdded = 1e9
)

// csvFile is a CSV file read with each record's line, so that a message
// can name the row and the field.
type csvFile struct {
	name  string
	row   string // what lines counts: "line" of the file, or "data row" of an embedded table
	cols  map[string]int
	rows  [][]string
	lines []int
}

// readCSV reads a CSV file whose header has every required column and no
// columns but required and optional ones. Lines starting with '#' are
// comments; cells are trimmed; a UTF-8 byte-order mark is dropped.
func readCSV(r io.Reader, name string, required, optional []string) (*csvFile, error) {
	cr0 := &countingReader{r: io.LimitReader(r, maxInputBytes+1)}
	br := bufio.NewReader(cr0)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.ReuseRecord = false
	f := &csvFile{name: name, row: "line", cols: map[string]int{}}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (want header %s)", name, strings.Join(required, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	hline, _ := cr.FieldPos(0)
	known := append(append([]string(nil), required...), optional...)
	for i, c := range header {
		c = strings.ToLower(strings.TrimSpace(c))
		if !contains(known, c) {
			return nil, fmt.Errorf("%s line %d: unknown column %q (columns: %s)", name, hline, c, strings.Join(known, ","))
		}
		if _, dup := f.cols[c]; dup {
			return nil, fmt.Errorf("%s line %d: column %q twice", name, hline, c)
		}
		f.cols[c] = i
	}
	for _, c := range required {
		if _, ok := f.cols[c]; !ok {
			return nil, fmt.Errorf("%s line %d: no column %q (header must have %s)", name, hline, c, strings.Join(required, ","))
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(f.rows) == maxRows {
			return nil, fmt.Errorf("%s: more than %d rows", name, maxRows)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		f.rows = append(f.rows, rec)
		f.lines = append(f.lines, line)
	}
	if cr0.n > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxInputBytes)
	}
	return f, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cell returns row i's value of column c ("" when the file has no such column).
func (f *csvFile) cell(i int, c string) string {
	j, ok := f.cols[c]
	if !ok {
		return ""
	}
	return f.rows[i][j]
}

// where names row i for a message.
func (f *csvFile) where(i int) string { return fmt.Sprintf("%s %s %d", f.name, f.row, f.lines[i]) }

// at names row i and field c for a message.
func (f *csvFile) at(i int, c string) string { return f.where(i) + ", field " + c }

// number parses a plain decimal number in [lo, hi] from row i, column c.
func (f *csvFile) number(i int, c string, lo, hi float64) (float64, error) {
	s := f.cell(i, c)
	if s == "" {
		return 0, fmt.Errorf("%s: empty", f.at(i, c))
	}
	v, err := parseDecimal(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", f.at(i, c), s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s: %v is outside [%g, %g]", f.at(i, c), v, lo, hi)
	}
	return v, nil
}

// parseDecimal accepts plain decimal notation only (no hex, no NaN or Inf,
// no digit separators), so a typo is an error and not a number.
func parseDecimal(s string) (float64, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, errors.New("not a decimal number")
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a decimal number")
	}
	return v, nil
}

// VolumeTable is a VOLUMES.csv: the volume through each point over the
// period, with the line each came from.
type VolumeTable struct {
	Volumes Volumes
	name    string
	line    map[string]int
}

// ReadVolumes reads a CSV with header point,m3. A point may appear once;
// volumes are finite, ≥ 0 and at most MaxVolume.
func ReadVolumes(r io.Reader, name string) (VolumeTable, error) {
	f, err := readCSV(r, name, []string{"point", "m3"}, nil)
	if err != nil {
		return VolumeTable{}, err
	}
	t := VolumeTable{Volumes: Volumes{}, name: name, line: map[string]int{}}
	for i := range f.rows {
		id := f.cell(i, "point")
		if err := reading.ValidID(id); err != nil {
			return VolumeTable{}, fmt.Errorf("%s: %w", f.at(i, "point"), err)
		}
		if l, dup := t.line[id]; dup {
			return VolumeTable{}, fmt.Errorf("%s: point %s already given on line %d", f.at(i, "point"), id, l)
		}
		v, err := f.number(i, "m3", 0, MaxVolume)
		if err != nil {
			return VolumeTable{}, err
		}
		t.Volumes[id] = v
		t.line[id] = f.lines[i]
	}
	return t, nil
}

// Check refuses volumes for points that are not among points, or that
// measure no water (no volume channel).
func (t VolumeTable) Check(points []meter.Point) error {
	byID := map[string]meter.Point{}
	for _, p := range points {
		byID[p.ID] = p
	}
	var errs []error
	for id := range t.Volumes {
		p, ok := byID[id]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s line %d, field point: unknown point %s", t.name, t.line[id], id))
		case !hasVolume(p):
			errs = append(errs, fmt.Errorf("%s line %d, field point: point %s measures no volume (no volume channel)", t.name, t.line[id], id))
		}
	}
	return sortedJoin(errs)
}

// sortedJoin joins errors in the order of their messages, so that a
// message does not depend on map order.
func sortedJoin(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	sort.Strings(msgs)
	return errors.New(strings.Join(msgs, "\n"))
}

// Production is one product's output over the period.
type Production struct {
	Product  string  // the plan's product name
	Quantity float64 // in Unit
	Unit     string  // the product's unit of output: t, kL, 100m, Adt
}

// ReadProduction reads a CSV with header product,quantity,unit. Products
// must be in the plan's table, each once, in the product's own unit, with a
// quantity in (0, MaxQuantity].
func ReadProduction(r io.Reader, name string) ([]Production, error) {
	f, err := readCSV(r, name, []string{"product", "quantity", "unit"}, nil)
	if err != nil {
		return nil, err
	}
	if len(f.rows) == 0 {
		return nil, fmt.Errorf("%s: no products", name)
	}
	var out []Production
	seen := map[string]int{}
	for i := range f.rows {
		p, ok := LookupProduct(f.cell(i, "product"))
		if !ok {
			return nil, fmt.Errorf("%s: unknown product %q (products: %s)", f.at(i, "product"), f.cell(i, "product"), strings.Join(productNames(), ", "))
		}
		if l, dup := seen[p.Name]; dup {
			return nil, fmt.Errorf("%s: product %s already given on line %d", f.at(i, "product"), p.Name, l)
		}
		seen[p.Name] = f.lines[i]
		unit, ok := outputUnit(f.cell(i, "unit"))
		if !ok {
			return nil, fmt.Errorf("%s: unknown unit %q (units: %s)", f.at(i, "unit"), f.cell(i, "unit"), strings.Join(OutputUnits, ", "))
		}
		if unit != p.Unit {
			return nil, fmt.Errorf("%s: %s is counted in %s, not %s", f.at(i, "unit"), p.Name, p.Unit, unit)
		}
		q, err := f.number(i, "quantity", 0, MaxQuantity)
		if err != nil {
			return nil, err
		}
		if q == 0 {
			return nil, fmt.Errorf("%s: zero output gives no intake per unit", f.at(i, "quantity"))
		}
		out = append(out, Production{Product: p.Name, Quantity: q, Unit: unit})
	}
	return out, nil
}

// ReadQuotas reads a quota table: header product,unit,grade,limit and
// optionally standard,edition,label,verified,source. It is validated as
// the built-in tables are (NewQuotas).
func ReadQuotas(r io.Reader, name string) (*Quotas, error) {
	f, err := readCSV(r, name, []string{"product", "unit", "grade", "limit"}, []string{"standard", "edition", "label", "verified", "source"})
	if err != nil {
		return nil, err
	}
	if len(f.rows) == 0 {
		return nil, fmt.Errorf("%s: no quotas", name)
	}
	return quotasFromCSV(f)
}

// ReadPoints reads a JSON array of metering points as GET /api/v1/points
// returns them, all of one enterprise. Each point must validate, IDs be
// unique, and parents and cascade origins name points of the array
// without a cycle.
func ReadPoints(r io.Reader, name string) ([]meter.Point, error) {
	cr := &countingReader{r: io.LimitReader(r, maxInputBytes+1)}
	dec := json.NewDecoder(cr)
	dec.DisallowUnknownFields()
	var pts []meter.Point
	if err := dec.Decode(&pts); err != nil {
		if cr.n > maxInputBytes {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, maxInputBytes)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the array", name)
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("%s: no points", name)
	}
	byID := map[string]int{}
	for i, p := range pts {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("%s: point %d: %w", name, i+1, err)
		}
		if j, dup := byID[p.ID]; dup {
			return nil, fmt.Errorf("%s: point %d: id %s already used by point %d", name, i+1, p.ID, j+1)
		}
		byID[p.ID] = i
		if p.Enterprise != pts[0].Enterprise {
			return nil, fmt.Errorf("%s: point %d (%s) is of enterprise %s, point 1 of %s: a balance is of one enterprise",
				name, i+1, p.ID, p.Enterprise, pts[0].Enterprise)
		}
	}
	for i, p := range pts {
		for _, ref := range []struct{ field, id string }{{"parent", p.Parent}, {"from", p.From}} {
			if _, ok := byID[ref.id]; ref.id != "" && !ok {
				return nil, fmt.Errorf("%s: point %d (%s), field %s: no point %s", name, i+1, p.ID, ref.field, ref.id)
			}
		}
	}
	for i, p := range pts {
		seen := map[string]bool{p.ID: true}
		for up := p.Parent; up != ""; up = pts[byID[up]].Parent {
			if seen[up] {
				return nil, fmt.Errorf("%s: point %d (%s), field parent: the parents form a cycle through %s", name, i+1, p.ID, up)
			}
			seen[up] = true
		}
	}
	return pts, nil
}
