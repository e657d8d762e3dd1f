package meter

import (
	_ "embed"
	"encoding/csv"
	"strings"
	"sync"
)

// Industry is a class of the GB/T 4754-2017 national economic industry classification.
type Industry struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
}

//go:embed data/industries.csv
var industriesCSV string

var (
	industriesOnce sync.Once
	industryMap    map[string]Industry
	industryList   []Industry
)

func loadIndustries() {
	r := csv.NewReader(strings.NewReader(industriesCSV))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		panic("meter: embedded industries.csv: " + err.Error())
	}
	industryMap = map[string]Industry{}
	for _, row := range rows[1:] {
		in := Industry{Code: row[0], Name: row[1], NameEN: row[2]}
		industryMap[in.Code] = in
		industryList = append(industryList, in)
	}
}

// IndustryByCode returns the catalogued industry with a GB/T 4754 code.
func IndustryByCode(code string) (Industry, bool) {
	industriesOnce.Do(loadIndustries)
	in, ok := industryMap[code]
	return in, ok
}

// Industries lists the catalogued industries (the plan's key water-using sectors).
func Industries() []Industry {
	industriesOnce.Do(loadIndustries)
	return append([]Industry(nil), industryList...)
}
