package production

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func d(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, Zone) }

func TestValidate(t *testing.T) {
	ok := Record{Enterprise: "E-1", Kind: Output, Product: "机织印染布", Quantity: 1200, Unit: "100M", From: d(2026, 11, 1), To: d(2026, 12, 1)}
	if err := ok.Validate(); err != nil || ok.Unit != "100m" {
		t.Fatalf("valid record: %v (unit %q)", err, ok.Unit)
	}
	paren := Record{Enterprise: "E-1", Kind: Output, Product: "白酒(原酒)", Quantity: 10, Unit: "kl", From: d(2026, 1, 1), To: d(2027, 1, 1)}
	if err := paren.Validate(); err != nil || paren.Product != "白酒（原酒）" || paren.Unit != "kL" {
		t.Fatalf("ASCII parentheses: %v %+v", err, paren)
	}
	for _, r := range []Record{
		{Enterprise: "E-1", Kind: ValueAdded, Quantity: 5000, Unit: "万元", From: d(2020, 1, 1), To: d(2021, 1, 1)},
		{Enterprise: "E-1", Kind: Intake, Quantity: 0, Unit: "m³", From: d(2020, 1, 1), To: d(2021, 1, 1)},
		{Enterprise: "E-1", Kind: NonConventional, Quantity: 12.5, Unit: "m3", From: d(2020, 1, 1), To: d(2020, 1, 2)},
	} {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	cases := []struct {
		field string
		r     Record
	}{
		{"product", Record{Enterprise: "E-1", Kind: Output, Product: "钢锭", Quantity: 1, Unit: "t", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"unit", Record{Enterprise: "E-1", Kind: Output, Product: "粗钢", Quantity: 1, Unit: "kL", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"unit", Record{Enterprise: "E-1", Kind: Output, Product: "粗钢", Quantity: 1, Unit: "kg", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"quantity", Record{Enterprise: "E-1", Kind: Output, Product: "粗钢", Quantity: -1, Unit: "t", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"quantity", Record{Enterprise: "E-1", Kind: Output, Product: "粗钢", Quantity: 0, Unit: "t", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"quantity", Record{Enterprise: "E-1", Kind: Output, Product: "粗钢", Quantity: 5e6, Unit: "t", From: d(2026, 1, 1), To: d(2026, 1, 2)}},
		{"quantity", Record{Enterprise: "E-1", Kind: Intake, Quantity: -3, Unit: "m3", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"quantity", Record{Enterprise: "E-1", Kind: ValueAdded, Quantity: 1e12, Unit: "万元", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"product", Record{Enterprise: "E-1", Kind: ValueAdded, Product: "粗钢", Quantity: 1, Unit: "万元", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"unit", Record{Enterprise: "E-1", Kind: Reuse, Quantity: 1, Unit: "t", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"kind", Record{Enterprise: "E-1", Kind: "sales", Quantity: 1, Unit: "t", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"enterprise", Record{Enterprise: "E 1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2026, 1, 1), To: d(2026, 2, 1)}},
		{"to", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2026, 2, 1), To: d(2026, 1, 1)}},
		{"to", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2026, 1, 1), To: d(2026, 1, 1)}},
		{"to", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2024, 1, 1), To: d(2026, 1, 1)}},
		{"from", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2026, 1, 1).Add(time.Hour), To: d(2026, 2, 1)}},
		{"from", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: d(2026, 2, 1)}},
		{"from", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(1990, 1, 1), To: d(1990, 2, 1)}},
		{"to", Record{Enterprise: "E-1", Kind: Intake, Quantity: 1, Unit: "m3", From: d(2026, 1, 1)}},
	}
	for i, c := range cases {
		err := c.r.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "field "+c.field+":") {
			t.Errorf("case %d (%+v): %v, want an error on field %s", i, c.r, err, c.field)
		}
	}
}

func TestProrated(t *testing.T) {
	r := Record{Quantity: 300, From: d(2026, 11, 1), To: d(2026, 12, 1)}
	for _, c := range []struct {
		from, to time.Time
		q, share float64
	}{
		{d(2026, 11, 1), d(2026, 12, 1), 300, 1},
		{d(2026, 10, 1), d(2027, 1, 1), 300, 1},
		{d(2026, 11, 21), d(2026, 12, 31), 100, 1.0 / 3},
		{d(2026, 11, 5), d(2026, 11, 6), 10, 1.0 / 30},
		{d(2026, 12, 1), d(2026, 12, 2), 0, 0},
	} {
		q, share := r.Prorated(c.from, c.to)
		if q != c.q || share != c.share {
			t.Errorf("[%s, %s): %v %v, want %v %v", c.from, c.to, q, share, c.q, c.share)
		}
	}
}

const goodCSV = "\uFEFFenterprise,kind,product,quantity,unit,from,to,note\n" +
	"# comment line\n" +
	"E-1,output,机织印染布,1200,100m,2026-11-01,2026-11-30,\n" +
	"E-1,value_added,,850.5,万元,2026-11-01,2026-11-30,November\n" +
	"E-2,intake,,1.2e6,m3,2020-01-01,2020-12-31,2020 baseline\n"

func TestReadCSV(t *testing.T) {
	rows, err := ReadCSV(strings.NewReader(goodCSV), "up.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].At != "up.csv line 3" {
		t.Fatalf("rows: %+v", rows)
	}
	r := rows[0].Record
	if !r.From.Equal(d(2026, 11, 1)) || !r.To.Equal(d(2026, 12, 1)) || r.Quantity != 1200 {
		t.Errorf("period or quantity: %+v", r)
	}
	if rows[1].Record.Unit != UnitValueAdded || rows[1].Record.Note != "November" {
		t.Errorf("value added: %+v", rows[1].Record)
	}
	if rows[2].Record.Quantity != 1.2e6 || Days(rows[2].Record.From, rows[2].Record.To) != 366 {
		t.Errorf("2020 statistic: %+v", rows[2].Record)
	}
}

func TestReadCSVErrors(t *testing.T) {
	const h = "enterprise,kind,product,quantity,unit,from,to\n"
	for _, c := range []struct{ in, want string }{
		{"", "empty file"},
		{"enterprise,kind,product,quantity,unit,from\n", `no column "to"`},
		{"enterprise,kind,product,quantity,unit,from,to,price\n", `unknown column "price"`},
		{h, "no rows"},
		{h + "E-1,output,钢锭,1,t,2026-11-01,2026-11-30\n", "line 2, field product: unknown product"},
		{h + "E-1,output,粗钢,1,kg,2026-11-01,2026-11-30\n", "line 2, field unit"},
		{h + "E-1,output,粗钢,-4,t,2026-11-01,2026-11-30\n", "line 2, field quantity"},
		{h + "E-1,output,粗钢,1e9,t,2026-11-01,2026-11-01\n", "line 2, field quantity"},
		{h + "E-1,output,粗钢,12 000,t,2026-11-01,2026-11-30\n", "line 2, field quantity"},
		{h + "E-1,output,粗钢,NaN,t,2026-11-01,2026-11-30\n", "line 2, field quantity"},
		{h + "E-1,output,粗钢,1,t,2026-11-31,2026-11-30\n", "line 2, field from"},
		{h + "E-1,output,粗钢,1,t,2026-11-30,2026-11-01\n", "line 2, field to"},
		{h + "E-1,output,粗钢,1,t,2026-11-01,2026-11-30\n\"E-1,output\n", "extraneous or missing"},
		{h + "E-1,output,粗钢,1,t,2026-11-01,2026-11-30\nE-1,output,粗钢,1,t,2026-11-15,2026-12-15\n", "line 3, field from: the period overlaps that of x line 2"},
	} {
		rows, err := ReadCSV(strings.NewReader(c.in), "x")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v (rows %v), want %q", c.in, err, rows, c.want)
		}
		if err != nil && rows != nil {
			t.Errorf("%q: rows returned with an error", c.in)
		}
	}
	// Several bad rows are all named.
	_, err := ReadCSV(strings.NewReader(h+"E-1,output,钢锭,1,t,2026-11-01,2026-11-30\nE-1,output,粗钢,1,t,2026-11-01,2026-11-30\nE-2,output,粗钢,-1,t,2026-11-01,2026-11-30\n"), "x")
	if err == nil || !strings.Contains(err.Error(), "x line 2, field product") || !strings.Contains(err.Error(), "x line 4, field quantity") {
		t.Errorf("all bad rows: %v", err)
	}
}

// workbook makes an XLSX of rows (the first the header); a date cell is
// written as a date.
func workbook(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadXLSX(t *testing.T) {
	header := []any{"enterprise", "kind", "product", "quantity", "unit", "from", "to"}
	data := workbook(t, [][]any{header,
		{"E-1", "output", "未涂布印刷书写纸", 4200, "t", "2026-11-01", "2026-11-30"},
		{"E-1", "value_added", "", 930.25, "万元", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
	})
	rows, err := ReadXLSX(bytes.NewReader(data), "up.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Record.Quantity != 4200 || rows[1].Record.Quantity != 930.25 || rows[1].At != "up.xlsx sheet Sheet1 row 3" {
		t.Fatalf("rows: %+v", rows)
	}
	if !rows[1].Record.From.Equal(d(2026, 11, 1)) || !rows[1].Record.To.Equal(d(2026, 12, 1)) {
		t.Errorf("date cells: %+v", rows[1].Record)
	}
	bad := workbook(t, [][]any{header, {"E-1", "output", "未涂布印刷书写纸", -1, "t", "2026-11-01", "2026-11-30"}})
	if _, err := ReadXLSX(bytes.NewReader(bad), "bad.xlsx"); err == nil || !strings.Contains(err.Error(), "bad.xlsx sheet Sheet1 row 2, field quantity") {
		t.Errorf("negative quantity: %v", err)
	}
	for _, junk := range [][]byte{nil, []byte("PK\x03\x04 not a zip"), []byte(goodCSV), data[:len(data)/2]} {
		if rows, err := ReadXLSX(bytes.NewReader(junk), "junk.xlsx"); err == nil || rows != nil {
			t.Errorf("malformed workbook read: %v", rows)
		}
	}
}
