package sl651

import (
	"embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/elements.csv
var dataFiles embed.FS

// Coding says how an element's data bytes carry its value.
type Coding uint8

// Element codings (SL 651-2014 §6.6.3 and Appendix C).
const (
	BCD    Coding = iota // BCD digits, decimals from the definition byte, FFH prefix for negative
	Binary               // unsigned big-endian binary (ZT status word)
	DRP                  // twelve one-byte 5-minute rainfalls, 0.1 mm each, FFH missing
	DRZ                  // twelve two-byte 5-minute relative water levels, 0.01 m each, FFFFH missing
	Text                 // not a number (manual entry, picture, batch data)
)

// ElementDef is one row of the Appendix C identifier table (data/elements.csv): the
// identifier byte (extension identifiers FFxxH are not in it), its mnemonic as written
// in ASCII frames and in decoded values ("PJ", "Z", "Q1"), and the standard's data
// definition N(Digits, Decimals) — in HEX mode ⌈Digits/2⌉ bytes.
type ElementDef struct {
	ID       byte
	Mnemonic string
	Name     string
	Unit     string
	Digits   int
	Decimals int
	Coding   Coding
	Verified bool // the row was read in the standard's text (see the table's header)
}

// DefByte is the definition byte for the element's standard size: data bytes in the high
// five bits, decimals in the low three.
func (d ElementDef) DefByte() byte { return defByte((d.Digits+1)/2, d.Decimals) }

func defByte(nbytes, decimals int) byte { return byte(nbytes<<3 | decimals&7) }

type elementTable struct {
	byID       map[byte]ElementDef
	byMnemonic map[string]ElementDef
}

var elements = mustLoadElements()

func mustLoadElements() elementTable {
	t, err := loadElements()
	if err != nil {
		panic(err) // the embedded table is part of the program; TestElementTable reads it
	}
	return t
}

func loadElements() (elementTable, error) {
	const name = "data/elements.csv"
	h, rows, err := table.Read(dataFiles, name)
	if err != nil {
		return elementTable{}, err
	}
	t := elementTable{byID: map[byte]ElementDef{}, byMnemonic: map[string]ElementDef{}}
	codings := map[string]Coding{"bcd": BCD, "hex": Binary, "drp": DRP, "drz": DRZ, "text": Text}
	for i, r := range rows {
		id, err := strconv.ParseUint(r[h["id"]], 16, 8)
		if err != nil {
			return elementTable{}, fmt.Errorf("%s row %d: id %q: %w", name, i+1, r[h["id"]], err)
		}
		digits, err1 := strconv.Atoi(r[h["digits"]])
		dec, err2 := strconv.Atoi(r[h["decimals"]])
		coding, ok := codings[r[h["coding"]]]
		if err1 != nil || err2 != nil || !ok || dec > 7 || (digits+1)/2 > 31 {
			return elementTable{}, fmt.Errorf("%s row %d: bad digits, decimals or coding", name, i+1)
		}
		d := ElementDef{ID: byte(id), Mnemonic: r[h["mnemonic"]], Name: r[h["name"]], Unit: r[h["unit"]],
			Digits: digits, Decimals: dec, Coding: coding, Verified: r[h["verified"]] == "yes"}
		if _, dup := t.byID[d.ID]; dup {
			return elementTable{}, fmt.Errorf("%s row %d: identifier %02X twice", name, i+1, d.ID)
		}
		if _, dup := t.byMnemonic[d.Mnemonic]; dup || d.Mnemonic == "" || strings.ContainsAny(d.Mnemonic, " \t") {
			return elementTable{}, fmt.Errorf("%s row %d: mnemonic %q empty, twice or with a space", name, i+1, d.Mnemonic)
		}
		t.byID[d.ID] = d
		t.byMnemonic[d.Mnemonic] = d
	}
	return t, nil
}

// LookupElement returns the table row of an identifier byte.
func LookupElement(id byte) (ElementDef, bool) {
	d, ok := elements.byID[id]
	return d, ok
}

// LookupMnemonic returns the table row of a mnemonic ("PJ").
func LookupMnemonic(m string) (ElementDef, bool) {
	d, ok := elements.byMnemonic[m]
	return d, ok
}

// Elements returns every row of the identifier table, in no particular order.
func Elements() []ElementDef {
	out := make([]ElementDef, 0, len(elements.byID))
	for _, d := range elements.byID {
		out = append(out, d)
	}
	return out
}

// ElementName is the name a decoded value is keyed by: the table's mnemonic, "FFxx" for
// an extension identifier (user-defined, FFH then one byte), or "xxH" for an identifier
// byte the table lacks.
func ElementName(id uint16) string {
	if id > 0xFF {
		return fmt.Sprintf("%04X", id)
	}
	if d, ok := elements.byID[byte(id)]; ok {
		return d.Mnemonic
	}
	return fmt.Sprintf("%02XH", id)
}

// elementID is the inverse of ElementName.
func elementID(name string) (uint16, bool) {
	if d, ok := elements.byMnemonic[name]; ok {
		return uint16(d.ID), true
	}
	if len(name) == 4 && strings.HasPrefix(strings.ToUpper(name), "FF") {
		v, err := strconv.ParseUint(name, 16, 16)
		return uint16(v), err == nil
	}
	if len(name) == 3 && name[2] == 'H' {
		v, err := strconv.ParseUint(name[:2], 16, 8)
		return uint16(v), err == nil
	}
	return 0, false
}
