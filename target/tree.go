package target

import (
	"fmt"
	"sort"

	"github.com/shuixiao/shuixiao/meter"
)

// Level is a level of the roll-up.
type Level string

// Levels of the roll-up: the province's cities, a city's parks (and its
// enterprises outside parks), a park's enterprises; the province's
// industries (GB/T 4754 codes), an industry's enterprises.
const (
	LevelProvince   Level = "province"
	LevelCity       Level = "city"
	LevelPark       Level = "park"
	LevelIndustry   Level = "industry"
	LevelEnterprise Level = "enterprise"
)

// Unit is one node of the roll-up: its figures by year are the sums of its
// children's, exactly.
type Unit struct {
	Level    Level
	Code     string
	Name     string
	NameEN   string
	Children []*Unit
	Years    map[int]Sums
	// scope counts the enterprises under the unit an indicator applies to:
	// "" all, the key of a scoped target (parks, above scale) those it
	// applies to, ProductKey(p) those registered with product p.
	scope map[string]int
	// byIndustry marks the units of the industry tree above enterprises;
	// parks do not nest in them, so their worst contributors are
	// enterprises only.
	byIndustry bool
}

func newUnit(l Level, code, name, nameEN string) *Unit {
	return &Unit{Level: l, Code: code, Name: name, NameEN: nameEN, Years: map[int]Sums{}, scope: map[string]int{}}
}

func (u *Unit) adopt(c *Unit) { u.Children = append(u.Children, c) }

// walk calls fn for u and every unit below it, parents first.
func (u *Unit) walk(fn func(*Unit)) {
	fn(u)
	for _, c := range u.Children {
		c.walk(fn)
	}
}

// Tree is the roll-up of a province's enterprises.
type Tree struct {
	Province *Unit // cities → parks and enterprises outside parks → enterprises
	// Industries is the province again, its children the industries and
	// theirs the enterprises.
	Industries *Unit
	index      map[Level]map[string]*Unit
}

// Input is what a roll-up is built from.
type Input struct {
	Province    meter.Region
	Regions     []meter.Region // the province's cities (others are ignored)
	Parks       []meter.Park
	Enterprises []meter.Enterprise
	Figures     map[string][]Year // by enterprise ID
}

// Build rolls the enterprises' figures up. An enterprise in a park belongs
// to the park's city; one outside parks to the city of its own region code.
// An enterprise whose park or city is not among the input, or whose
// figures name the same year twice, is an error: dropping it would make
// the province's sums differ from the sum of its cities without a word.
func Build(in Input) (*Tree, error) {
	t := &Tree{index: map[Level]map[string]*Unit{}}
	reg := func(u *Unit) {
		if t.index[u.Level] == nil {
			t.index[u.Level] = map[string]*Unit{}
		}
		t.index[u.Level][u.Code] = u
	}
	t.Province = newUnit(LevelProvince, in.Province.Code, in.Province.Name, in.Province.NameEN)
	t.Industries = newUnit(LevelProvince, in.Province.Code, in.Province.Name, in.Province.NameEN)
	t.Industries.byIndustry = true
	reg(t.Province)
	cities := map[string]*Unit{}
	for _, r := range in.Regions {
		if r.Code == in.Province.Code || meter.ProvinceOf(r.Code) != in.Province.Code || meter.CityOf(r.Code) != r.Code {
			continue
		}
		c := newUnit(LevelCity, r.Code, r.Name, r.NameEN)
		cities[r.Code] = c
		t.Province.adopt(c)
		reg(c)
	}
	parks := map[string]*Unit{}
	for _, p := range in.Parks {
		c, ok := cities[meter.CityOf(p.Region)]
		if !ok {
			return nil, fmt.Errorf("park %s: city %s is not a city of %s", p.ID, meter.CityOf(p.Region), in.Province.Code)
		}
		u := newUnit(LevelPark, p.ID, p.Name, p.NameEN)
		parks[p.ID] = u
		c.adopt(u)
		reg(u)
	}
	industries := map[string]*Unit{}
	for _, e := range in.Enterprises {
		var parent *Unit
		if e.Park != "" {
			if parent = parks[e.Park]; parent == nil {
				return nil, fmt.Errorf("enterprise %s: park %s is not in the input", e.ID, e.Park)
			}
		} else if parent = cities[meter.CityOf(e.Region)]; parent == nil {
			return nil, fmt.Errorf("enterprise %s: region %s is not in a city of %s", e.ID, e.Region, in.Province.Code)
		}
		u := newUnit(LevelEnterprise, e.ID, e.Name, e.NameEN)
		u.scope[""] = 1
		m := MemberOf(e)
		for _, t := range targets {
			if t.scoped() && t.Applies(m) {
				u.scope[t.Key] = 1
			}
		}
		for _, p := range e.Products {
			if _, ok := Lookup(ProductKey(p)); ok {
				u.scope[ProductKey(p)] = 1
			}
		}
		for _, y := range in.Figures[e.ID] {
			if _, dup := u.Years[y.Year]; dup {
				return nil, fmt.Errorf("enterprise %s: year %d given twice", e.ID, y.Year)
			}
			u.Years[y.Year] = YearSums(y, m)
		}
		parent.adopt(u)
		reg(u)
		ind := industries[e.Industry]
		if ind == nil {
			name, nameEN := e.Industry, e.Industry
			if i, ok := meter.IndustryByCode(e.Industry); ok {
				name, nameEN = i.Name, i.NameEN
			}
			ind = newUnit(LevelIndustry, e.Industry, name, nameEN)
			ind.byIndustry = true
			industries[e.Industry] = ind
			t.Industries.adopt(ind)
			reg(ind)
		}
		// The enterprise's unit is shared by both trees.
		ind.adopt(u)
	}
	sort.Slice(t.Industries.Children, func(i, j int) bool { return t.Industries.Children[i].Code < t.Industries.Children[j].Code })
	sumUp(t.Province)
	sumUp(t.Industries)
	return t, nil
}

// sumUp sets every inner unit's sums and scope counts to those of its
// children.
func sumUp(u *Unit) {
	if len(u.Children) == 0 {
		return
	}
	u.Years, u.scope = map[int]Sums{}, map[string]int{}
	for _, c := range u.Children {
		sumUp(c)
		for y, s := range c.Years {
			if u.Years[y] == nil {
				u.Years[y] = Sums{}
			}
			u.Years[y].add(s)
		}
		for k, n := range c.scope {
			u.scope[k] += n
		}
	}
}

// Unit returns the unit of a level and code. The province and the list of
// industries answer level province and industry with an empty code.
func (t *Tree) Unit(l Level, code string) (*Unit, bool) {
	switch {
	case l == LevelProvince && (code == "" || code == t.Province.Code):
		return t.Province, true
	case l == LevelIndustry && code == "":
		return t.Industries, true
	}
	u, ok := t.index[l][code]
	return u, ok && l != LevelProvince
}

// Enterprises counts the enterprises under u an indicator applies to.
func (u *Unit) Enterprises(key string) int {
	if t, ok := find(targets, key); ok && t.scoped() || len(key) > len(productPrefix) && key[:len(productPrefix)] == productPrefix {
		return u.scope[key]
	}
	return u.scope[""]
}
