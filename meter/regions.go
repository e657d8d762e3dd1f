package meter

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/regions_hunan.csv
var regionsCSV string

var (
	regionsOnce sync.Once
	regionList  []Region
)

// HunanRegions returns Hunan province and its fourteen prefecture-level
// divisions with their GB/T 2260 codes (embedded table, see its header).
func HunanRegions() []Region {
	regionsOnce.Do(func() {
		r := csv.NewReader(strings.NewReader(regionsCSV))
		r.Comment = '#'
		rows, err := r.ReadAll()
		if err != nil {
			panic("meter: embedded regions_hunan.csv: " + err.Error())
		}
		for _, row := range rows[1:] {
			regionList = append(regionList, Region{Code: row[0], Name: row[1], NameEN: row[2], Parent: row[3]})
		}
	})
	return append([]Region(nil), regionList...)
}

// ValidRegionCode checks the shape of a GB/T 2260 code: six digits, a
// province part that is not 00.
func ValidRegionCode(code string) error {
	if len(code) != 6 {
		return fmt.Errorf("region code %q: want 6 digits", code)
	}
	for i := 0; i < 6; i++ {
		if code[i] < '0' || code[i] > '9' {
			return fmt.Errorf("region code %q: want 6 digits", code)
		}
	}
	if code[:2] == "00" {
		return fmt.Errorf("region code %q: no province part", code)
	}
	return nil
}

// ProvinceOf returns the province code of a GB/T 2260 code.
func ProvinceOf(code string) string {
	if len(code) != 6 {
		return ""
	}
	return code[:2] + "0000"
}

// CityOf returns the prefecture-level code of a GB/T 2260 code.
func CityOf(code string) string {
	if len(code) != 6 {
		return ""
	}
	return code[:4] + "00"
}
