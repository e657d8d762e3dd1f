package directory

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCatalogueVerbatim: every catalogue name is a verbatim part of the
// plan's line it cites (testdata/seed_lines.txt holds those lines), with
// the one name that continues on the next line joined.
func TestCatalogueVerbatim(t *testing.T) {
	f, err := os.Open("testdata/seed_lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := map[int]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n, text, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(n, "#") {
			continue
		}
		k, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		lines[k] = text
	}
	cat := Catalogue()
	if len(cat) < 80 {
		t.Fatalf("%d rows", len(cat))
	}
	for _, tech := range cat {
		l, ok := lines[tech.SeedLine]
		if !ok {
			t.Errorf("%s: line %d not in the copied seed lines", tech.ID, tech.SeedLine)
			continue
		}
		if !strings.Contains(l+lines[tech.SeedLine+2], tech.NameZH) || !tech.Verified {
			t.Errorf("%s %q is not a part of line %d", tech.ID, tech.NameZH, tech.SeedLine)
		}
		if tech.Kind == Promote && !strings.Contains(l, "**"+tech.IndustryZH+"行业") {
			t.Errorf("%s: line %d is not the %s list", tech.ID, tech.SeedLine, tech.IndustryZH)
		}
	}
	if tc, ok := TechnologyByID(cat[0].ID); !ok || tc.NameZH != cat[0].NameZH {
		t.Error("TechnologyByID")
	}
	beer := 0
	for _, tech := range cat {
		if tech.AppliesTo("1513") && Match("啤酒", tech.SearchFields()...) {
			beer++
		}
	}
	if beer != 2 {
		t.Errorf("%d beer technologies, want 2 (刷洗水, 再生水)", beer)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		q    string
		want bool
	}{{"", true}, {"印染", true}, {"印染 回用", true}, {"印染 钢铁", false}, {"WATER", true}, {"x", false}}
	for _, c := range cases {
		if got := Match(c.q, "印染废水深度处理与回用技术", "water"); got != c.want {
			t.Errorf("Match(%q) = %v", c.q, got)
		}
	}
}

func wantField(t *testing.T, name string, err error, field string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "field "+field) && !strings.Contains(err.Error(), "fields "+field) {
		t.Errorf("%s: %v, want a refusal naming field %s", name, err, field)
	}
}

func TestValidate(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	m := Manager{Enterprise: "E1", Name: "张三", Phone: "+86 731-8888 0000", Email: "zs@example.com", Appointed: at, UpdatedBy: "tok", UpdatedAt: at}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit  func(*Manager)
		field string
	}{
		"no enterprise": {func(m *Manager) { m.Enterprise = "" }, "enterprise"},
		"blank name":    {func(m *Manager) { m.Name = "  " }, "name"},
		"letters":       {func(m *Manager) { m.Phone = "call me" }, "phone"},
		"bad email":     {func(m *Manager) { m.Email = "zs at example" }, "email"},
		"no date":       {func(m *Manager) { m.Appointed = time.Time{} }, "appointed"},
		"control":       {func(m *Manager) { m.Certificate = "a\x00b" }, "certificate"},
		"no actor":      {func(m *Manager) { m.UpdatedBy = "" }, "updated_by"},
	} {
		x := m
		c.edit(&x)
		wantField(t, name, x.Validate(), c.field)
	}

	p := Provider{ID: "SP-1", Name: "湖南某节水服务公司", Region: "430100", Services: []Service{WaterBalanceTest, ContractSaving},
		Qualifications: []string{"CMA"}, Served: []Served{{Enterprise: "E1", Service: WaterBalanceTest, Year: 2025}}, UpdatedBy: "tok", UpdatedAt: at}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit  func(*Provider)
		field string
	}{
		"bad id":          {func(p *Provider) { p.ID = "a b" }, "id"},
		"no name":         {func(p *Provider) { p.Name = "" }, "name"},
		"region":          {func(p *Provider) { p.Region = "43" }, "region"},
		"no services":     {func(p *Provider) { p.Services = nil }, "services"},
		"unknown service": {func(p *Provider) { p.Services = []Service{"cleaning"} }, "services[0]"},
		"service twice":   {func(p *Provider) { p.Services = []Service{Diagnosis, Diagnosis} }, "services[1]"},
		"blank qual":      {func(p *Provider) { p.Qualifications = []string{""} }, "qualifications[0]"},
		"served service":  {func(p *Provider) { p.Served = []Served{{Enterprise: "E1", Service: Diagnosis, Year: 2025}} }, "served[0].service"},
		"served year":     {func(p *Provider) { p.Served = []Served{{Enterprise: "E1", Service: WaterBalanceTest, Year: 25}} }, "served[0].year"},
		"served twice":    {func(p *Provider) { p.Served = append(p.Served, p.Served[0]) }, "served[1]"},
	} {
		x := p
		x.Services = append([]Service(nil), p.Services...)
		x.Served = append([]Served(nil), p.Served...)
		c.edit(&x)
		wantField(t, name, x.Validate(), c.field)
	}

	l := CaseLink{Case: 1, Provider: "SP-1", Technology: Catalogue()[0].ID, LinkedBy: "tok", LinkedAt: at}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		edit  func(*CaseLink)
		field string
	}{
		"case":       {func(l *CaseLink) { l.Case = 0 }, "case"},
		"neither":    {func(l *CaseLink) { l.Provider, l.Technology = "", "" }, "provider"},
		"technology": {func(l *CaseLink) { l.Technology = "T999" }, "technology"},
		"provider":   {func(l *CaseLink) { l.Provider = "a/b" }, "provider"},
	} {
		x := l
		c.edit(&x)
		wantField(t, name, x.Validate(), c.field)
	}
}
