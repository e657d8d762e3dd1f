package production

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Columns are an upload's columns, in the order a template lists them;
// note is optional.
var Columns = []string{"enterprise", "kind", "product", "quantity", "unit", "from", "to"}

// Upload limits: a larger upload is refused whole.
const (
	MaxUploadBytes = 16 << 20
	MaxUploadRows  = 100_000
	// maxErrors is how many row errors one refusal lists.
	maxErrors = 20
	// maxUnzipped bounds what an XLSX may inflate to.
	maxUnzipped = 64 << 20
)

// Row is one row of an upload: where it came from and the record it gives.
type Row struct {
	At     string // "line 3" of a CSV, "Sheet1 row 3" of a workbook
	Record Record
}

// ReadCSV reads an upload in CSV (UTF-8, optional byte-order mark, header
// enterprise,kind,product,quantity,unit,from,to[,note]; lines starting with
// '#' are comments). from and to are the first and last day of the period
// (YYYY-MM-DD, both included). Every row is validated; on any error nothing
// is returned and the error lists the rows and fields at fault (the first
// 20). Rows of one enterprise, kind and product must not overlap in time.
func ReadCSV(r io.Reader, name string) ([]Row, error) {
	lr := &io.LimitedReader{R: r, N: MaxUploadBytes + 1}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (want header %s)", name, strings.Join(Columns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	hline, _ := cr.FieldPos(0)
	cols, err := headerColumns(header)
	if err != nil {
		return nil, fmt.Errorf("%s line %d: %v", name, hline, err)
	}
	var cells [][]string
	var where []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(cells) == MaxUploadRows {
			return nil, fmt.Errorf("%s line %d: more than %d rows", name, line, MaxUploadRows)
		}
		cells = append(cells, rec)
		where = append(where, fmt.Sprintf("%s line %d", name, line))
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxUploadBytes)
	}
	return rows(cols, cells, where, name)
}

// ReadXLSX reads an upload in XLSX: the first sheet, its first row the
// header as for ReadCSV. Dates may be text (YYYY-MM-DD) or date cells.
func ReadXLSX(r io.Reader, name string) ([]Row, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxUploadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(data) > MaxUploadBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxUploadBytes)
	}
	f, err := openXLSX(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable XLSX workbook: %v", name, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%s: the workbook has no sheet", name)
	}
	sheet := sheets[0]
	it, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("%s sheet %s: %v", name, sheet, err)
	}
	defer it.Close()
	var cols map[string]int
	var cells [][]string
	var where []string
	for n := 1; it.Next(); n++ {
		rec, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("%s sheet %s row %d: %v", name, sheet, n, err)
		}
		if cols == nil {
			if blank(rec) {
				continue
			}
			if cols, err = headerColumns(rec); err != nil {
				return nil, fmt.Errorf("%s sheet %s row %d: %v", name, sheet, n, err)
			}
			continue
		}
		if blank(rec) {
			continue
		}
		if len(cells) == MaxUploadRows {
			return nil, fmt.Errorf("%s sheet %s row %d: more than %d rows", name, sheet, n, MaxUploadRows)
		}
		for _, c := range []string{"from", "to"} {
			if j := cols[c]; j < len(rec) {
				rec[j] = serialDate(rec[j])
			}
		}
		cells = append(cells, rec)
		where = append(where, fmt.Sprintf("%s sheet %s row %d", name, sheet, n))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("%s sheet %s: %v", name, sheet, err)
	}
	if cols == nil {
		return nil, fmt.Errorf("%s sheet %s: empty (want header %s)", name, sheet, strings.Join(Columns, ","))
	}
	return rows(cols, cells, where, name)
}

// openXLSX opens a workbook with bounds on what it may inflate to, and turns
// a panic of the decoder on a hostile file into an error.
func openXLSX(data []byte) (f *excelize.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("malformed workbook (%v)", p)
		}
	}()
	return excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipped / 4})
}

// serialDate writes a date cell's serial number (days since 1899-12-30,
// what a workbook stores under a date format) as YYYY-MM-DD; any other text
// is returned as it is, for ParsePeriod to judge.
func serialDate(s string) string {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 36526 || v >= 73051 || v != math.Trunc(v) { // 2000-01-01 to 2099-12-31, whole days
		return s
	}
	t, err := excelize.ExcelDateToTime(v, false)
	if err != nil {
		return s
	}
	return t.Format(time.DateOnly)
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// headerColumns maps the header's column names to their positions.
func headerColumns(header []string) (map[string]int, error) {
	known := append(append([]string(nil), Columns...), "note")
	cols := map[string]int{}
	for i, c := range header {
		c = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\uFEFF")))
		if c == "" {
			continue
		}
		if !contains(known, c) {
			return nil, fmt.Errorf("unknown column %q (columns: %s[,note])", c, strings.Join(Columns, ","))
		}
		if _, dup := cols[c]; dup {
			return nil, fmt.Errorf("column %q twice", c)
		}
		cols[c] = i
	}
	for _, c := range Columns {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("no column %q (header must be %s[,note])", c, strings.Join(Columns, ","))
		}
	}
	return cols, nil
}

// rows validates every row; any error refuses the whole upload.
func rows(cols map[string]int, cells [][]string, where []string, name string) ([]Row, error) {
	if len(cells) == 0 {
		return nil, fmt.Errorf("%s: no rows under the header", name)
	}
	var errs []string
	out := make([]Row, 0, len(cells))
	for i, rec := range cells {
		cell := func(c string) string {
			j, ok := cols[c]
			if !ok || j >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[j])
		}
		r, err := rowRecord(cell)
		if err != nil {
			errs = append(errs, where[i]+", "+err.Error())
			if len(errs) == maxErrors {
				errs = append(errs, "(further rows not checked)")
				break
			}
			continue
		}
		out = append(out, Row{At: where[i], Record: r})
	}
	if len(errs) == 0 {
		errs = overlapErrors(out)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return out, nil
}

// rowRecord makes and validates the record of one row.
func rowRecord(cell func(string) string) (Record, error) {
	r := Record{Enterprise: cell("enterprise"), Kind: Kind(strings.ToLower(cell("kind"))), Product: cell("product"),
		Unit: cell("unit"), Note: cell("note")}
	q, err := parseQuantity(cell("quantity"))
	if err != nil {
		return Record{}, fieldErr("quantity", "%v", err)
	}
	r.Quantity = q
	if r.From, r.To, err = ParsePeriod(cell("from"), cell("to")); err != nil {
		return Record{}, err
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// parseQuantity accepts plain decimal notation only (no hex, NaN, Inf or
// digit separators), so a typo is an error and not a number.
func parseQuantity(s string) (float64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	return v, nil
}

// overlapErrors names pairs of rows that count the same thing over
// overlapping periods: per series, rows sorted by start, each checked
// against the one reaching furthest before it.
func overlapErrors(rows []Row) []string {
	var errs []string
	bySeries := map[[3]string][]int{}
	var keys [][3]string
	for i, r := range rows {
		k := [3]string{r.Record.Enterprise, string(r.Record.Kind), r.Record.Product}
		if _, ok := bySeries[k]; !ok {
			keys = append(keys, k)
		}
		bySeries[k] = append(bySeries[k], i)
	}
	for _, k := range keys {
		idx := bySeries[k]
		sort.SliceStable(idx, func(a, b int) bool { return rows[idx[a]].Record.From.Before(rows[idx[b]].Record.From) })
		reach := -1 // the row before with the latest end
		for _, i := range idx {
			if reach >= 0 && Overlaps(rows[reach].Record, rows[i].Record) {
				first, second := rows[reach], rows[i]
				if i < reach {
					first, second = second, first
				}
				errs = append(errs, fmt.Sprintf("%s, field from: the period overlaps that of %s (%s %s %s): it would be counted twice",
					second.At, first.At, k[0], k[1], k[2]))
				if len(errs) == maxErrors {
					return errs
				}
			}
			if reach < 0 || rows[i].Record.To.After(rows[reach].Record.To) {
				reach = i
			}
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
