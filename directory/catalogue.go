package directory

import (
	"embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/table"
)

// Kind says which of the plan's lists a technology comes from.
type Kind string

// Kinds of catalogue rows.
const (
	Promote  Kind = "promote"  // 专栏2: technologies to promote, by industry
	Research Kind = "research" // 专栏1: key research directions
	Digital  Kind = "digital"  // 专栏3: digital water-efficiency systems
	Listed   Kind = "listed"   // already in the province's 三新 catalogue
)

// Technology is one row of the water-saving technology catalogue.
type Technology struct {
	ID         string `json:"id"`
	Kind       Kind   `json:"kind"`
	IndustryZH string `json:"industry_zh"`
	// Industries are the GB/T 4754 code prefixes it applies to; none for
	// every industry.
	Industries []string `json:"industries,omitempty"`
	NameZH     string   `json:"name_zh"`
	SeedLine   int      `json:"seed_line"` // line of the plan's text it was read from
	Verified   bool     `json:"verified"`
}

// AppliesTo reports whether t applies to an industry (GB/T 4754 code).
func (t Technology) AppliesTo(industry string) bool {
	if len(t.Industries) == 0 {
		return true
	}
	for _, p := range t.Industries {
		if strings.HasPrefix(industry, p) {
			return true
		}
	}
	return false
}

//go:embed data/technologies.csv
var tables embed.FS

var catalogue = mustCatalogue()

func mustCatalogue() []Technology {
	ts, err := loadCatalogue()
	if err != nil {
		panic("directory: embedded " + err.Error()) // a build defect, not input
	}
	return ts
}

func loadCatalogue() ([]Technology, error) {
	h, rows, err := table.Read(tables, "data/technologies.csv")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Technology
	for i, r := range rows {
		t := Technology{ID: r[h["id"]], Kind: Kind(r[h["kind"]]), IndustryZH: r[h["industry_zh"]], NameZH: r[h["name_zh"]],
			Verified: r[h["verified"]] == "yes"}
		switch t.Kind {
		case Promote, Research, Digital, Listed:
		default:
			return nil, fmt.Errorf("technologies.csv row %d, field kind: %q", i+1, t.Kind)
		}
		if c := r[h["industry_codes"]]; c != "" {
			t.Industries = strings.Split(c, ";")
		}
		if t.SeedLine, err = strconv.Atoi(r[h["seed_line"]]); err != nil || t.SeedLine <= 0 {
			return nil, fmt.Errorf("technologies.csv row %d, field seed_line: %q", i+1, r[h["seed_line"]])
		}
		if t.ID == "" || seen[t.ID] || t.NameZH == "" {
			return nil, fmt.Errorf("technologies.csv row %d: empty or repeated id %q, or no name", i+1, t.ID)
		}
		seen[t.ID] = true
		out = append(out, t)
	}
	return out, nil
}

// Catalogue returns the technology catalogue in its file's order.
func Catalogue() []Technology { return append([]Technology(nil), catalogue...) }

// TechnologyByID returns a catalogue row.
func TechnologyByID(id string) (Technology, bool) {
	for _, t := range catalogue {
		if t.ID == id {
			return t, true
		}
	}
	return Technology{}, false
}

// Match reports whether every word of query (split at spaces) occurs in
// one of fields, case-insensitively. An empty query matches everything.
// Chinese has no spaces between words: a query 印染废水 matches any field
// containing that string.
func Match(query string, fields ...string) bool {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return true
	}
	hay := strings.ToLower(strings.Join(fields, "\x00"))
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// SearchFields are the fields of a technology a search looks in.
func (t Technology) SearchFields() []string {
	return append([]string{t.ID, t.NameZH, t.IndustryZH, string(t.Kind)}, t.Industries...)
}

// SearchFields are the fields of a provider a search looks in.
func (p Provider) SearchFields() []string {
	f := []string{p.ID, p.Name, p.NameEN, p.Region, p.Contact}
	for _, s := range p.Services {
		f = append(f, string(s), serviceName(s))
	}
	return append(f, p.Qualifications...)
}

// SearchFields are the fields of a manager a search looks in.
func (m Manager) SearchFields() []string {
	return []string{m.Enterprise, m.Name, m.Phone, m.Email, m.Certificate}
}

func serviceName(s Service) string {
	for _, x := range Services {
		if x.Service == s {
			return x.NameZH + " " + x.NameEN
		}
	}
	return ""
}
