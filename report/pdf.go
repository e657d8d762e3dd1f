package report

import (
	"fmt"
	"io"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/shuixiao/shuixiao/balance"
)

// Option sets how a report is written.
type Option func(*options)

type options struct {
	fontPath string
}

// WithFont names the TrueType font (.ttf, or a .ttc whose first font is
// used) with Chinese glyphs to embed; without it FindFont searches the
// usual system places.
func WithFont(path string) Option { return func(o *options) { o.fontPath = path } }

func applyOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// PDF page geometry, mm (A4 portrait).
const (
	pageMargin = 15.0
	lineH      = 4.2 // table text line
	paraH      = 5.0 // paragraph line
	fontFamily = "zh"
)

// BalancePDF writes the water-balance test report of d as PDF with a
// Chinese font embedded (subset to the glyphs used) and the balance
// diagram drawn as vector graphics.
func BalancePDF(w io.Writer, d Doc, opts ...Option) error {
	if err := d.validate(); err != nil {
		return err
	}
	o := applyOptions(opts)
	fnt, err := loadFont(o.fontPath)
	if err != nil {
		return err
	}
	pdf, err := newPDF(fnt, d.title(), d.Generated, fmt.Sprintf("%s · %s", d.Enterprise.ID, d.periodText()))
	if err != nil {
		return err
	}
	return writePDF(w, pdf, outline(d))
}

// newPDF starts an A4 document with the font embedded (subset to the
// glyphs used), its metadata, and a footer of the given text and the page.
func newPDF(fnt ttfFont, title string, generated time.Time, footer string) (*fpdf.Fpdf, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", fnt.ttf)
	if err := pdf.Error(); err != nil {
		return nil, &FontError{Path: fnt.path, Err: err}
	}
	pdf.SetTitle(title, true)
	pdf.SetCreator("shuixiao", false)
	pdf.SetCreationDate(generated)
	pdf.SetModificationDate(generated)
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(true, pageMargin)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont(fontFamily, "", 8)
		pdf.SetTextColor(110, 110, 110)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s · %d / {nb}", footer, pdf.PageNo()), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	return pdf, nil
}

// writePDF draws the sections, the first as a cover, and writes the document.
func writePDF(w io.Writer, pdf *fpdf.Fpdf, sections []section) error {
	pw := &pdfWriter{pdf: pdf}
	for i, s := range sections {
		pw.section(s, i == 0)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("PDF: %w", err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("PDF: %w", err)
	}
	return nil
}

type pdfWriter struct {
	pdf *fpdf.Fpdf
}

// width is the printable width of a page.
func (p *pdfWriter) width() float64 {
	w, _ := p.pdf.GetPageSize()
	return w - 2*pageMargin
}

// room starts a new page unless h mm are left on this one.
func (p *pdfWriter) room(h float64) {
	_, ph := p.pdf.GetPageSize()
	if p.pdf.GetY()+h > ph-pageMargin {
		p.pdf.AddPage()
	}
}

func (p *pdfWriter) section(s section, cover bool) {
	pdf := p.pdf
	if cover {
		pdf.AddPage()
		pdf.SetY(70)
		pdf.SetFont(fontFamily, "", 22)
		pdf.MultiCell(0, 11, s.title, "", "C", false)
		pdf.Ln(8)
		pdf.SetFont(fontFamily, "", 11)
		for _, para := range s.paras {
			pdf.MultiCell(0, 7, para, "", "C", false)
		}
		return
	}
	p.room(30)
	pdf.Ln(3)
	pdf.Bookmark(s.title, 0, -1)
	pdf.SetFont(fontFamily, "", 14)
	pdf.MultiCell(0, 8, s.title, "B", "L", false)
	pdf.Ln(2)
	pdf.SetFont(fontFamily, "", 9.5)
	for _, para := range s.paras {
		pdf.MultiCell(0, paraH, para, "", "L", false)
		pdf.Ln(1)
	}
	if s.diagram != nil {
		p.sankey(*s.diagram)
	}
	for _, t := range s.tables {
		p.table(t)
	}
}

// table draws a table whose rows wrap their text; a row never splits
// across pages and the header is repeated on a new page.
func (p *pdfWriter) table(t table) {
	pdf := p.pdf
	var total float64
	for _, w := range t.widths {
		total += w
	}
	widths := make([]float64, len(t.widths))
	for i, w := range t.widths {
		widths[i] = p.width() * w / total
	}
	p.room(20)
	pdf.SetFont(fontFamily, "", 10.5)
	pdf.MultiCell(0, 6, t.title, "", "L", false)
	head := make([]cell, len(t.head))
	for i, h := range t.head {
		head[i] = txt(h)
	}
	pdf.SetFont(fontFamily, "", 8)
	pdf.SetFillColor(225, 233, 243)
	p.row(head, widths, true)
	for _, r := range t.rows {
		if p.rowHeight(r, widths) > 0 {
			_, ph := pdf.GetPageSize()
			if pdf.GetY()+p.rowHeight(r, widths) > ph-pageMargin {
				pdf.AddPage()
				p.row(head, widths, true)
			}
		}
		p.row(r, widths, false)
	}
	pdf.Ln(3)
}

func (p *pdfWriter) rowHeight(r []cell, widths []float64) float64 {
	n := 1
	for i, c := range r {
		if i < len(widths) {
			n = max(n, len(p.pdf.SplitText(c.String(), widths[i])))
		}
	}
	return float64(n)*lineH + 1
}

func (p *pdfWriter) row(r []cell, widths []float64, head bool) {
	pdf := p.pdf
	h := p.rowHeight(r, widths)
	x0, y0 := pdf.GetXY()
	x := x0
	for i, c := range r {
		if i >= len(widths) {
			break
		}
		style := "D"
		if head {
			style = "FD"
		}
		pdf.Rect(x, y0, widths[i], h, style)
		align := "L"
		if c.kind != textCell {
			align = "R"
		}
		for j, line := range pdf.SplitText(c.String(), widths[i]) {
			pdf.SetXY(x, y0+0.5+float64(j)*lineH)
			pdf.CellFormat(widths[i], lineH, line, "", 0, align, false, 0, "")
		}
		x += widths[i]
	}
	pdf.SetXY(x0, y0+h)
}

// sankey draws the diagram: bands as filled cubic Bézier ribbons, nodes as
// bars with their label and volume.
func (p *pdfWriter) sankey(sk balance.Sankey) {
	pdf := p.pdf
	const h = 120.0
	labelW := 34.0 // room right of the last column for sink labels
	w := p.width() - labelW
	p.room(h + 10)
	x0, y0 := pageMargin, pdf.GetY()+2
	lay := layoutSankey(sk, w, h)
	pdf.SetAlpha(0.45, "Normal")
	for _, b := range lay.bands {
		r, g, bl := kindColour(b.kind)
		pdf.SetFillColor(r, g, bl)
		xm := (b.x0 + b.x1) / 2
		pdf.MoveTo(x0+b.x0, y0+b.y0)
		pdf.CurveBezierCubicTo(x0+xm, y0+b.y0, x0+xm, y0+b.y1, x0+b.x1, y0+b.y1)
		pdf.LineTo(x0+b.x1, y0+b.y1+b.thick)
		pdf.CurveBezierCubicTo(x0+xm, y0+b.y1+b.thick, x0+xm, y0+b.y0+b.thick, x0+b.x0, y0+b.y0+b.thick)
		pdf.ClosePath()
		pdf.DrawPath("F")
	}
	pdf.SetAlpha(1, "Normal")
	pdf.SetFont(fontFamily, "", 7)
	for _, n := range lay.nodes {
		if n.value <= 0 {
			continue
		}
		r, g, bl := kindColour(n.Kind)
		pdf.SetFillColor(r, g, bl)
		pdf.Rect(x0+n.x, y0+n.y, n.w, n.h, "F")
		label := n.Label + " " + volume(n.value).String()
		tx := x0 + n.x + n.w + 1
		if n.x > w/2 && n.x+n.w+pdf.GetStringWidth(label)+1 > w+labelW {
			tx = x0 + n.x - pdf.GetStringWidth(label) - 1
		}
		pdf.Text(tx, y0+n.y+n.h/2+1.2, label)
	}
	pdf.SetY(y0 + h + 6)
}
