package production

import (
	"os"
	"testing"
	"time"
)

// TestWriteSeedWorkbook writes the fuzz seed workbook when SHUIXIAO_WRITE_SEEDS=1.
func TestWriteSeedWorkbook(t *testing.T) {
	if os.Getenv("SHUIXIAO_WRITE_SEEDS") != "1" {
		t.Skip("set SHUIXIAO_WRITE_SEEDS=1 to rewrite testdata/upload.xlsx")
	}
	data := workbook(t, [][]any{{"enterprise", "kind", "product", "quantity", "unit", "from", "to", "note"},
		{"E-1", "output", "未涂布印刷书写纸", 4200, "t", "2026-11-01", "2026-11-30", ""},
		{"E-1", "value_added", "", 930.25, "万元", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "Nov"},
	})
	if err := os.WriteFile("testdata/upload.xlsx", data, 0o644); err != nil {
		t.Fatal(err)
	}
}
