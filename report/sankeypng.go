package report

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/shuixiao/shuixiao/balance"
)

// Picture size of the diagram in the XLSX, pixels.
const (
	pngW, pngH   = 1200, 675
	pngPad       = 15
	pngLabelRoom = 200
)

// sankeyPNG draws the diagram as a PNG picture with the same layout as the
// PDF's. Labels are Chinese in the given font; without one (nil) they are
// the nodes' English labels in a built-in bitmap font, so an XLSX can be
// written on a machine without Chinese fonts.
func sankeyPNG(sk balance.Sankey, fnt *ttfFont) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, pngW, pngH)) // RGBA with a uniform source is the rasterizer's fast path
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	w := float64(pngW - 2*pngPad - pngLabelRoom)
	h := float64(pngH - 2*pngPad)
	lay := layoutSankey(sk, w, h)
	z := vector.NewRasterizer(pngW, pngH)
	for _, b := range lay.bands {
		// Rasterise each ribbon in its own bounding box: a whole-picture
		// mask per ribbon costs ten times as much.
		box := image.Rect(pngPad+int(b.x0)-1, pngPad+int(math.Min(b.y0, b.y1))-1,
			pngPad+int(math.Ceil(b.x1))+1, pngPad+int(math.Ceil(math.Max(b.y0, b.y1)+b.thick))+1).Intersect(img.Bounds())
		if box.Empty() {
			continue
		}
		z.Reset(box.Dx(), box.Dy())
		pt := func(x, y float64) (float32, float32) {
			return float32(pngPad + x - float64(box.Min.X)), float32(pngPad + y - float64(box.Min.Y))
		}
		xm := (b.x0 + b.x1) / 2
		z.MoveTo(pt(b.x0, b.y0))
		cx0, cy0 := pt(xm, b.y0)
		cx1, cy1 := pt(xm, b.y1)
		ex, ey := pt(b.x1, b.y1)
		z.CubeTo(cx0, cy0, cx1, cy1, ex, ey)
		z.LineTo(pt(b.x1, b.y1+b.thick))
		cx0, cy0 = pt(xm, b.y1+b.thick)
		cx1, cy1 = pt(xm, b.y0+b.thick)
		ex, ey = pt(b.x0, b.y0+b.thick)
		z.CubeTo(cx0, cy0, cx1, cy1, ex, ey)
		z.ClosePath()
		r, g, bl := kindColour(b.kind)
		const a = 115
		z.Draw(img, box, image.NewUniform(color.RGBA{uint8(r * a / 255), uint8(g * a / 255), uint8(bl * a / 255), a}), image.Point{})
	}
	face, err := labelFace(fnt)
	if err != nil {
		return nil, err
	}
	defer face.Close()
	d := font.Drawer{Dst: img, Src: image.Black, Face: face}
	for _, n := range lay.nodes {
		if n.value <= 0 {
			continue
		}
		r, g, bl := kindColour(n.Kind)
		x0, y0 := pngPad+int(n.x), pngPad+int(n.y)
		rect := image.Rect(x0, y0, x0+max(int(n.w), 2), y0+max(int(n.h+0.5), 1))
		draw.Draw(img, rect, image.NewUniform(color.RGBA{uint8(r), uint8(g), uint8(bl), 255}), image.Point{}, draw.Src)
		label := n.Label
		if fnt == nil {
			label = n.LabelEN
		}
		label += " " + volume(n.value).String()
		adv := d.MeasureString(label).Ceil()
		x := rect.Max.X + 4
		if x+adv > pngW-4 {
			x = rect.Min.X - 4 - adv
		}
		asc := face.Metrics().Ascent.Ceil()
		d.Dot = fixed.P(x, y0+int(n.h/2)+asc/2)
		d.DrawString(label)
	}
	var buf bytes.Buffer
	// Flat colours compress well even at the fastest level; encoding at the
	// default level took half the XLSX's time in the profile.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// labelFace is the font face of the diagram's labels.
func labelFace(fnt *ttfFont) (font.Face, error) {
	if fnt == nil {
		return basicfont.Face7x13, nil
	}
	f, err := opentype.Parse(fnt.ttf)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: 14, DPI: 72, Hinting: font.HintingFull})
}
