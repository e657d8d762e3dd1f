package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Province is a generated virtual Hunan: the parks used, the enterprises in
// them, and every enterprise's plant, metering points and meters.
type Province struct {
	Seed        int64
	Params      Parameters
	Regions     []meter.Region
	Parks       []meter.Park
	Enterprises []*Enterprise
}

// Enterprise is a simulated enterprise with its water system.
type Enterprise struct {
	meter.Enterprise
	Archetype Archetype
	Template  Template
	System    *WaterSystem
	// Points are the metering points with their meters, parents before children.
	Points []*Point
	// Key seeds the enterprise's noise (production, weather, quality).
	Key uint64
	// AssumedPark is set when the plan does not name the park for this industry.
	AssumedPark bool
}

// Point is a metering point with the meter installed on it.
type Point struct {
	meter.Point
	Spec  PointSpec
	Meter MeterSpec
}

// MeterSpec is a simulated meter as installed: identity, systematic error
// and the totaliser reading at installation.
type MeterSpec struct {
	ID     string
	Signed meter.SigningSite
	// Bias is the meter's relative systematic error (within its MPE).
	Bias float64
	// Base is the totaliser reading when the simulation first starts, m³.
	Base float64
}

// Groups is the order in which industry groups take turns when the
// province is populated, so that any 7 enterprises cover every group.
var Groups = []string{"steel", "chemical", "textile", "paper", "food", "nonferrous", "power"}

var plantNouns = map[string][2]string{
	"steel": {"钢铁厂", "Steel Works"}, "refinery": {"炼化厂", "Refinery"}, "chloralkali": {"氯碱厂", "Chlor-alkali Plant"},
	"acid": {"硫酸厂", "Sulfuric Acid Plant"}, "dyeing": {"印染厂", "Dyeing Mill"}, "paper": {"纸业", "Paper Mill"},
	"beer": {"啤酒厂", "Brewery"}, "baijiu": {"酒业", "Baijiu Distillery"}, "dairy": {"乳业", "Dairy"},
	"zinc": {"锌业", "Zinc Smelter"}, "lead": {"铅业", "Lead Smelter"}, "power": {"热电厂", "Power Plant"},
}

var chineseOrdinals = []string{"", "", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

type slot struct {
	site    ParkSite
	arch    string
	assumed bool
}

// Generate builds a province of n enterprises from a seed. Enterprise k is
// the same for every n > k, so a larger n extends a province.
// aboveScaleShare is where in its archetype's capacity range a simulated
// enterprise becomes above scale (规模以上工业企业): the simulator's rule,
// standing in for the revenue line the statistics bureau uses.
const aboveScaleShare = 0.35

func Generate(seed int64, n int) (*Province, error) {
	if n < 1 || n > 999 {
		return nil, fmt.Errorf("enterprises: %d, want 1-999", n)
	}
	params, err := DefaultParameters()
	if err != nil {
		return nil, err
	}
	archs, err := Archetypes()
	if err != nil {
		return nil, err
	}
	sites, err := ParkSites()
	if err != nil {
		return nil, err
	}
	byKey := map[string]Archetype{}
	for _, a := range archs {
		byKey[a.Key] = a
	}
	regions := map[string]meter.Region{}
	for _, r := range meter.HunanRegions() {
		regions[r.Code] = r
	}
	// Candidate (park, archetype) slots per group, shuffled by the seed.
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	byGroup := map[string][]slot{}
	for _, s := range sites {
		for _, a := range s.Archetypes {
			g := byKey[a].Group
			byGroup[g] = append(byGroup[g], slot{site: s, arch: a, assumed: s.Assumed[a]})
		}
	}
	for _, g := range Groups {
		l := byGroup[g]
		r.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	}
	// One pass over every slot, the groups taking turns; enterprises beyond
	// it start a second pass (a second plant of the same kind in the park).
	var pass []slot
	for round := 0; ; round++ {
		more := false
		for _, g := range Groups {
			if round < len(byGroup[g]) {
				pass = append(pass, byGroup[g][round])
				more = true
			}
		}
		if !more {
			break
		}
	}
	if len(pass) == 0 {
		return nil, fmt.Errorf("no park slots")
	}
	order := make([]slot, n)
	for k := range order {
		order[k] = pass[k%len(pass)]
	}
	prov := &Province{Seed: seed, Params: params}
	prov.Regions = meter.HunanRegions()
	usedParks := map[string]bool{}
	perCity := map[string]int{}
	perName := map[string]int{}
	for k, sl := range order {
		arch := byKey[sl.arch]
		tpl, err := TemplateFor(arch.Key)
		if err != nil {
			return nil, err
		}
		er := rand.New(rand.NewPCG(uint64(seed), uint64(k)+1))
		city := sl.site.Park.Region
		perCity[city]++
		noun := plantNouns[arch.Key]
		short := cityShort(regions[city])
		base := short[0] + "模拟" + noun[0]
		perName[base]++
		name, nameEN := base, short[1]+" Sim "+noun[1]
		if o := perName[base]; o > 1 {
			if o < len(chineseOrdinals) {
				name += "（" + chineseOrdinals[o] + "）"
			} else {
				name += "（" + strconv.Itoa(o) + "）"
			}
			nameEN += " No. " + strconv.Itoa(o)
		}
		capacity := niceRound(arch.CapacityMin + er.Float64()*(arch.CapacityMax-arch.CapacityMin))
		units := tpl.Units(er)
		leak := map[meter.Source]float64{}
		for _, u := range units {
			if u.Source != "" {
				if _, ok := leak[u.Source]; !ok {
					leak[u.Source] = params.LeakBackgroundMin + er.Float64()*(params.LeakBackgroundMax-params.LeakBackgroundMin)
				}
			}
		}
		plant, err := Build(WaterSystemSpec{Archetype: arch, Capacity: capacity, Units: units, LeakBackground: leak}, params)
		if err != nil {
			return nil, fmt.Errorf("enterprise %d (%s in %s): %w", k, arch.Key, sl.site.Park.ID, err)
		}
		e := &Enterprise{
			Enterprise: meter.Enterprise{
				ID:   fmt.Sprintf("EN-%s-%03d", city, perCity[city]),
				Name: name, NameEN: nameEN, Park: sl.site.Park.ID, Region: city, Industry: arch.Industry,
				Products: []string{arch.Product},
				// Above scale (规模以上) when in the upper part of its
				// archetype's capacity range: about half of them, so the
				// plan's reuse-rate target leaves some enterprises out.
				AboveScale: capacity >= arch.CapacityMin+aboveScaleShare*(arch.CapacityMax-arch.CapacityMin),
			},
			Archetype: arch, Template: tpl, System: plant, Key: er.Uint64(), AssumedPark: sl.assumed,
		}
		design := plant.DesignFlows()
		meterSuffix := strings.TrimPrefix(e.ID, "EN-")
		for _, ps := range plant.MeteringPoints(params) {
			channels := make([]meter.Channel, 0, len(ps.Channels))
			for _, c := range ps.Channels {
				ch, ok := meter.StandardChannel(c)
				if !ok {
					return nil, fmt.Errorf("channel %s not in meter's catalogue", c)
				}
				channels = append(channels, ch)
			}
			pt := meter.Point{ID: e.ID + "-" + ps.Tag, Enterprise: e.ID, Name: ps.Name, NameEN: ps.NameEN,
				Level: ps.Level, Stage: ps.Stage, Source: ps.Source, Channels: channels}
			if ps.ParentTag != "" {
				pt.Parent = e.ID + "-" + ps.ParentTag
			}
			if err := pt.Validate(); err != nil {
				return nil, err
			}
			q := ps.Flow(design)
			m := MeterSpec{ID: "HN-" + meterSuffix + "-" + ps.Tag, Signed: ps.Signed,
				Bias: (2*er.Float64() - 1) * params.BiasShare * ps.MPE,
				// A meter installed some years ago: its register shows
				// 200-3000 days of design flow.
				Base: math.Round(q*24*(200+2800*er.Float64())*1000) / 1000}
			if err := reading.ValidID(m.ID); err != nil {
				return nil, err
			}
			e.Points = append(e.Points, &Point{Point: pt, Spec: ps, Meter: m})
		}
		if err := checkTree(e); err != nil {
			return nil, err
		}
		prov.Enterprises = append(prov.Enterprises, e)
		if !usedParks[sl.site.Park.ID] {
			usedParks[sl.site.Park.ID] = true
			prov.Parks = append(prov.Parks, sl.site.Park)
		}
	}
	return prov, nil
}

// checkTree verifies that every parent exists and comes before its children.
func checkTree(e *Enterprise) error {
	seen := map[string]bool{}
	for _, p := range e.Points {
		if p.Parent != "" && !seen[p.Parent] {
			return fmt.Errorf("enterprise %s: point %s: parent %s missing or after it", e.ID, p.ID, p.Parent)
		}
		if seen[p.ID] {
			return fmt.Errorf("enterprise %s: duplicate point %s", e.ID, p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

func cityShort(r meter.Region) [2]string {
	name := strings.TrimSuffix(r.Name, "市")
	if strings.HasSuffix(name, "土家族苗族自治州") {
		name = strings.TrimSuffix(name, "土家族苗族自治州")
	}
	return [2]string{name, r.NameEN}
}

// niceRound rounds to two significant figures.
func niceRound(v float64) float64 {
	if v <= 0 {
		return v
	}
	e := math.Pow(10, math.Floor(math.Log10(v))-1)
	return math.Round(v/e) * e
}

// Enterprise returns the enterprise with the given ID.
func (p *Province) Enterprise(id string) *Enterprise {
	for _, e := range p.Enterprises {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// Counts summarises the province: parks, enterprises, points and meters by level.
type Counts struct {
	Parks, Enterprises, Points int
	ByLevel                    map[meter.Level]int
	ByStage                    map[meter.Stage]int
}

// Count returns the province's counts.
func (p *Province) Count() Counts {
	c := Counts{Parks: len(p.Parks), Enterprises: len(p.Enterprises), ByLevel: map[meter.Level]int{}, ByStage: map[meter.Stage]int{}}
	for _, e := range p.Enterprises {
		for _, pt := range e.Points {
			c.Points++
			c.ByLevel[pt.Level]++
			c.ByStage[pt.Stage]++
		}
	}
	return c
}
