package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/balance"
)

// xlsxStyles are the cell styles of a workbook, by use.
type xlsxStyles struct {
	title, heading, head, text, wrap int
	byKind                           map[cellKind]int
}

func newXLSXStyles(f *excelize.File) (xlsxStyles, error) {
	border := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	var firstErr error
	add := func(st *excelize.Style) int {
		id, err := f.NewStyle(st)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return id
	}
	numFmt := func(code string) int {
		return add(&excelize.Style{Border: border, CustomNumFmt: &code, Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "top"}})
	}
	s := xlsxStyles{
		title:   add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}}),
		heading: add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}}),
		head: add(&excelize.Style{Border: border, Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E1E9F3"}},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}}),
		text: add(&excelize.Style{Border: border, Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}),
		wrap: add(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}),
	}
	s.byKind = map[cellKind]int{textCell: s.text, volumeCell: numFmt("#,##0.00"), rateCell: numFmt("0.00%"),
		numberCell: numFmt("General"), countCell: numFmt("0")}
	return s, firstErr
}

// BalanceXLSX writes the water-balance test report of d as an XLSX
// workbook: one sheet per chapter, every figure a number cell (rates as
// fractions formatted as percentages), the diagram as a picture. Its
// labels are in the Chinese font when one is found (WithFont or
// FindFont), otherwise in English.
func BalanceXLSX(w io.Writer, d Doc, opts ...Option) error {
	if err := d.validate(); err != nil {
		return err
	}
	o := applyOptions(opts)
	var fnt *ttfFont
	if f, err := loadFont(o.fontPath); err == nil {
		fnt = &f
	} else if o.fontPath != "" {
		return err // a font asked for by name must be usable
	}
	return writeWorkbook(w, outline(d), d.title(), d.Generated, fnt)
}

// writeWorkbook writes sections as the sheets of a workbook, the first as
// a cover.
func writeWorkbook(w io.Writer, sections []section, title string, generated time.Time, fnt *ttfFont) error {
	x := excelize.NewFile()
	defer x.Close()
	st, err := newXLSXStyles(x)
	if err != nil {
		return fmt.Errorf("XLSX: %w", err)
	}
	for i, s := range sections {
		if err := writeSheet(x, st, s, i == 0, fnt); err != nil {
			return fmt.Errorf("XLSX sheet %s: %w", s.sheet, err)
		}
	}
	if err := x.DeleteSheet("Sheet1"); err != nil {
		return fmt.Errorf("XLSX: %w", err)
	}
	x.SetActiveSheet(0)
	if err := x.SetDocProps(&excelize.DocProperties{Title: title, Creator: "shuixiao",
		Created: generated.UTC().Format("2006-01-02T15:04:05Z")}); err != nil {
		return fmt.Errorf("XLSX: %w", err)
	}
	if _, err := x.WriteTo(w); err != nil {
		return fmt.Errorf("XLSX: %w", err)
	}
	return nil
}

// sheetWriter appends rows to one sheet.
type sheetWriter struct {
	x     *excelize.File
	st    xlsxStyles
	sheet string
	row   int
	cols  int
}

func (s *sheetWriter) put(col int, c cell, style int) error {
	ref, err := excelize.CoordinatesToCellName(col+1, s.row)
	if err != nil {
		return err
	}
	if c.kind == textCell {
		err = s.x.SetCellStr(s.sheet, ref, c.text)
	} else {
		err = s.x.SetCellFloat(s.sheet, ref, c.v, -1, 64)
	}
	if err != nil {
		return err
	}
	return s.x.SetCellStyle(s.sheet, ref, ref, style)
}

// line writes one text across the sheet's used columns.
func (s *sheetWriter) line(text string, style int) error {
	s.row++
	if err := s.put(0, txt(text), style); err != nil {
		return err
	}
	if s.cols > 1 {
		last, _ := excelize.CoordinatesToCellName(s.cols, s.row)
		first, _ := excelize.CoordinatesToCellName(1, s.row)
		if err := s.x.MergeCell(s.sheet, first, last); err != nil {
			return err
		}
		// A merged cell does not grow with its text: give it the lines.
		n := strings.Count(text, "\n") + 1 + len([]rune(text))/(s.cols*14)
		if n > 1 {
			return s.x.SetRowHeight(s.sheet, s.row, float64(n)*15)
		}
	}
	return nil
}

func writeSheet(x *excelize.File, st xlsxStyles, s section, cover bool, fnt *ttfFont) error {
	if _, err := x.NewSheet(s.sheet); err != nil {
		return err
	}
	sw := &sheetWriter{x: x, st: st, sheet: s.sheet, cols: 1}
	for _, t := range s.tables {
		sw.cols = max(sw.cols, len(t.head))
	}
	if cover || sw.cols == 1 {
		sw.cols = max(sw.cols, 6)
	}
	colW := make([]float64, sw.cols)
	for i := range colW {
		colW[i] = 14
	}
	for _, t := range s.tables {
		for i, w := range t.widths {
			colW[i] = max(colW[i], 16*w)
		}
	}
	for i, w := range colW {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if err := x.SetColWidth(s.sheet, name, name, w); err != nil {
			return err
		}
	}
	if err := sw.line(s.title, st.title); err != nil {
		return err
	}
	for _, p := range s.paras {
		if err := sw.line(p, st.wrap); err != nil {
			return err
		}
	}
	if s.diagram != nil {
		if err := sw.picture(*s.diagram, fnt); err != nil {
			return err
		}
	}
	firstRows := make([]int, len(s.tables)) // sheet row of each table's first data row
	for ti, t := range s.tables {
		sw.row++
		if err := sw.line(t.title, st.heading); err != nil {
			return err
		}
		firstRows[ti] = sw.row + 2
		sw.row++
		for i, h := range t.head {
			if err := sw.put(i, txt(h), st.head); err != nil {
				return err
			}
		}
		for _, r := range t.rows {
			sw.row++
			for i, c := range r {
				if err := sw.put(i, c, st.byKind[c.kind]); err != nil {
					return err
				}
			}
		}
	}
	return addCharts(x, s, firstRows, sw.cols)
}

// addCharts draws each chart of the section to the right of its table,
// one under the other. A chart whose key has no rows is left out.
func addCharts(x *excelize.File, s section, firstRows []int, cols int) error {
	if len(s.charts) == 0 {
		return nil
	}
	col, _ := excelize.ColumnNumberToName(cols + 2)
	at := firstRows[0]
	for _, c := range s.charts {
		t := s.tables[c.table]
		first, last := -1, -1
		for i, r := range t.rows {
			if r[c.keyCol].text == c.key {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first < 0 {
			continue
		}
		ref := func(col, i int) string {
			name, _ := excelize.CoordinatesToCellName(col+1, firstRows[c.table]+i, true)
			return name
		}
		sheet := "'" + strings.ReplaceAll(s.sheet, "'", "''") + "'!"
		var series []excelize.ChartSeries
		for _, v := range c.valCols {
			// A series name is a reference: the column's header cell.
			series = append(series, excelize.ChartSeries{Name: sheet + ref(v, -1),
				Categories: sheet + ref(c.catCol, first) + ":" + ref(c.catCol, last),
				Values:     sheet + ref(v, first) + ":" + ref(v, last)})
		}
		if err := x.AddChart(s.sheet, fmt.Sprintf("%s%d", col, at), &excelize.Chart{Type: excelize.Line, Series: series,
			Title: excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: c.title}}}, ShowBlanksAs: "gap",
			Dimension: excelize.ChartDimension{Width: 560, Height: 300}}); err != nil {
			return err
		}
		at += 17
	}
	return nil
}

// picture inserts the diagram and leaves the rows it covers empty.
func (s *sheetWriter) picture(sk balance.Sankey, fnt *ttfFont) error {
	b, err := sankeyPNG(sk, fnt)
	if err != nil {
		return err
	}
	const scale = 0.75
	s.row += 2
	ref, _ := excelize.CoordinatesToCellName(1, s.row)
	if err := s.x.AddPictureFromBytes(s.sheet, ref, &excelize.Picture{Extension: ".png", File: b,
		Format: &excelize.GraphicOptions{AltText: "水平衡图 water-balance diagram", ScaleX: scale, ScaleY: scale}}); err != nil {
		return err
	}
	s.row += int(math.Ceil(pngH*scale/20)) + 1 // default row height is 20 px
	return nil
}
