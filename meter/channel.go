package meter

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/shuixiao/shuixiao/reading"
)

// Kind says how a channel's values behave in time, which decides how they are
// aggregated: rates are averaged, running totals are differenced, interval
// totals are summed.
type Kind string

// Channel kinds.
const (
	// Rate is an instantaneous value: flow m³/h, pressure, pH, conductivity …
	Rate Kind = "rate"
	// Total is a running totaliser (累计流量) that only grows, except when it
	// rolls over, is reset or the meter is replaced.
	Total Kind = "total"
	// Interval is a total over the interval ending at the reading's time,
	// e.g. a daily frozen volume (日冻结) or a 15-min volume.
	Interval Kind = "interval"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Rate || k == Total || k == Interval }

// Channel is one measured quantity at a metering point.
type Channel struct {
	Name     string `json:"name"`     // key used in readings, e.g. "total_m3"
	Quantity string `json:"quantity"` // e.g. "volume", "flow", "ph"
	Unit     string `json:"unit"`     // UCUM-style: m3, m3/h, MPa, [pH], uS/cm, NTU, mg/L …
	Kind     Kind   `json:"kind"`
	// Rollover describes where a totaliser wraps to zero: either the
	// register's largest value written as all nines (99999.99 for a 5+2 digit
	// register, which wraps at 100000) or the wrap value itself; zero means
	// it does not wrap (store/aggregate applies this rule).
	Rollover float64 `json:"rollover,omitempty"`
	// Min and Max bound plausible values; readings outside are flagged.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Validate checks the channel definition.
func (c Channel) Validate() error {
	if !reading.ValidChannel(c.Name) {
		return fmt.Errorf("channel %q: name must be 1-32 of [a-z0-9_]", c.Name)
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("channel %s: unknown kind %q", c.Name, c.Kind)
	}
	if c.Unit == "" {
		return fmt.Errorf("channel %s: no unit", c.Name)
	}
	if c.Rollover < 0 || math.IsNaN(c.Rollover) || math.IsInf(c.Rollover, 0) {
		return fmt.Errorf("channel %s: bad rollover %v", c.Name, c.Rollover)
	}
	if c.Rollover > 0 && c.Kind != Total {
		return fmt.Errorf("channel %s: only totalisers roll over", c.Name)
	}
	if c.Min > c.Max {
		return fmt.Errorf("channel %s: min %v > max %v", c.Name, c.Min, c.Max)
	}
	return nil
}

// Plausible reports whether v lies within the channel's bounds.
func (c Channel) Plausible(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return v >= c.Min && v <= c.Max
}

//go:embed data/channels.csv
var channelsCSV string

var (
	catalogOnce sync.Once
	catalog     map[string]Channel
	catalogList []Channel
)

func loadCatalog() {
	rows, err := csv.NewReader(strings.NewReader(channelsCSV)).ReadAll()
	if err != nil {
		panic("meter: embedded channels.csv: " + err.Error()) // a build defect, not input
	}
	catalog = map[string]Channel{}
	for _, r := range rows[1:] {
		minV, err1 := strconv.ParseFloat(r[4], 64)
		maxV, err2 := strconv.ParseFloat(r[5], 64)
		if err1 != nil || err2 != nil {
			panic("meter: embedded channels.csv: bad bounds for " + r[0])
		}
		c := Channel{Name: r[0], Quantity: r[1], Unit: r[2], Kind: Kind(r[3]), Min: minV, Max: maxV}
		if err := c.Validate(); err != nil {
			panic("meter: embedded channels.csv: " + err.Error())
		}
		catalog[c.Name] = c
		catalogList = append(catalogList, c)
	}
}

// StandardChannel returns the catalogue definition of a common channel
// (total_m3, flow_m3h, pressure_mpa, ph, cond_us_cm, turb_ntu, cod_mg_l …).
func StandardChannel(name string) (Channel, bool) {
	catalogOnce.Do(loadCatalog)
	c, ok := catalog[name]
	return c, ok
}

// StandardChannels lists the whole catalogue in its file order.
func StandardChannels() []Channel {
	catalogOnce.Do(loadCatalog)
	return append([]Channel(nil), catalogList...)
}
