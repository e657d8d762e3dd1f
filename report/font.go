package report

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// FontCandidates are the files FindFont tries, in order: common places of
// a TrueType-outline font with Chinese glyphs on Debian/Ubuntu (fonts-wqy-microhei,
// fonts-wqy-zenhei, fonts-droid-fallback, fonts-arphic-uming), Fedora,
// macOS and Windows.
var FontCandidates = []string{
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
	"/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
	"/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
	"/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
	"/Library/Fonts/Arial Unicode.ttf",
	"/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
	"C:/Windows/Fonts/simhei.ttf",
	"C:/Windows/Fonts/simsun.ttc",
}

// ErrNoFont is returned when no font with Chinese glyphs can be found.
var ErrNoFont = errors.New("未找到中文字体 / no Chinese TrueType font found: install fonts-wqy-microhei (Debian/Ubuntu) or give the path of a .ttf/.ttc with Chinese glyphs and TrueType (glyf) outlines")

// FontError is a font that was found or named but cannot be used.
type FontError struct {
	Path string
	Err  error
}

func (e *FontError) Error() string { return "字体 / font " + e.Path + ": " + e.Err.Error() }

func (e *FontError) Unwrap() error { return e.Err }

// FindFont returns the first of FontCandidates that exists.
func FindFont() (string, error) {
	for _, p := range FontCandidates {
		if runtime.GOOS != "windows" && filepath.VolumeName(p) != "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", ErrNoFont
}

// ttfFont is a TrueType font ready for embedding: one font's tables, whether
// the file held one font or a collection.
type ttfFont struct {
	path string
	ttf  []byte
}

// loadFont reads the font at path, or the first FindFont finds when path
// is empty. A TrueType collection (.ttc) is reduced to its first font,
// since the PDF writer embeds single fonts only.
func loadFont(path string) (ttfFont, error) {
	if path == "" {
		var err error
		if path, err = FindFont(); err != nil {
			return ttfFont{}, err
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ttfFont{}, &FontError{Path: path, Err: err}
	}
	ttf, err := singleTrueType(b)
	if err != nil {
		return ttfFont{}, &FontError{Path: path, Err: err}
	}
	return ttfFont{path: path, ttf: ttf}, nil
}

// maxFontTables bounds a font's table directory; real fonts have about 20.
const maxFontTables = 256

// singleTrueType returns a standalone TrueType font: b itself if it is one,
// or the first font of a TrueType collection rebuilt with its own table
// directory (OpenType spec, "Font Collections"). It refuses fonts without
// TrueType (glyf) outlines: the PDF writer cannot embed CFF outlines.
func singleTrueType(b []byte) ([]byte, error) {
	if len(b) < 12 {
		return nil, errors.New("file too short for a font")
	}
	switch tag := string(b[:4]); tag {
	case "ttcf":
		if n := binary.BigEndian.Uint32(b[8:12]); n == 0 || len(b) < 16 {
			return nil, errors.New("font collection holds no font")
		}
		return extractFont(b, binary.BigEndian.Uint32(b[12:16]))
	case "\x00\x01\x00\x00", "true":
		if _, err := tableDirectory(b, 0); err != nil {
			return nil, err
		}
		return b, nil
	case "OTTO":
		return nil, errors.New("font has CFF (PostScript) outlines; a font with TrueType (glyf) outlines is needed")
	default:
		return nil, fmt.Errorf("not a TrueType font or collection (starts with %q)", tag)
	}
}

// tableRecord is one entry of a font's table directory.
type tableRecord struct {
	tag                      string
	checksum, offset, length uint32
}

// tableDirectory reads the table directory at off and checks that every
// table lies inside b and that the outlines are TrueType.
func tableDirectory(b []byte, off uint32) ([]tableRecord, error) {
	if uint64(off)+12 > uint64(len(b)) {
		return nil, fmt.Errorf("table directory at %d beyond the end of the file", off)
	}
	if v := string(b[off : off+4]); v != "\x00\x01\x00\x00" && v != "true" {
		if v == "OTTO" {
			return nil, errors.New("font has CFF (PostScript) outlines; a font with TrueType (glyf) outlines is needed")
		}
		return nil, fmt.Errorf("font at %d: unknown version %q", off, v)
	}
	n := int(binary.BigEndian.Uint16(b[off+4 : off+6]))
	if n == 0 || n > maxFontTables {
		return nil, fmt.Errorf("font at %d: %d tables", off, n)
	}
	if uint64(off)+12+16*uint64(n) > uint64(len(b)) {
		return nil, fmt.Errorf("font at %d: table directory truncated", off)
	}
	recs := make([]tableRecord, n)
	glyf := false
	for i := range recs {
		p := b[off+12+16*uint32(i):]
		r := tableRecord{tag: string(p[:4]), checksum: binary.BigEndian.Uint32(p[4:8]),
			offset: binary.BigEndian.Uint32(p[8:12]), length: binary.BigEndian.Uint32(p[12:16])}
		if uint64(r.offset)+uint64(r.length) > uint64(len(b)) {
			return nil, fmt.Errorf("font table %q beyond the end of the file", r.tag)
		}
		glyf = glyf || r.tag == "glyf"
		recs[i] = r
	}
	if !glyf {
		return nil, errors.New("font has no TrueType (glyf) outlines")
	}
	return recs, nil
}

// extractFont copies the font whose table directory is at off out of a
// collection, with tables 4-byte aligned and offsets rewritten.
func extractFont(b []byte, off uint32) ([]byte, error) {
	recs, err := tableDirectory(b, off)
	if err != nil {
		return nil, err
	}
	head := 12 + 16*len(recs)
	size := head
	for _, r := range recs {
		size += int(r.length+3) &^ 3
	}
	out := make([]byte, head, size)
	copy(out, b[off:off+12])
	for i, r := range recs {
		p := out[12+16*i:]
		copy(p[:4], r.tag)
		binary.BigEndian.PutUint32(p[4:8], r.checksum)
		binary.BigEndian.PutUint32(p[8:12], uint32(len(out)))
		binary.BigEndian.PutUint32(p[12:16], r.length)
		out = append(out, b[r.offset:r.offset+r.length]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}
