package sim

import (
	"math"
	"time"
)

// ChinaTime is China Standard Time (UTC+8, no daylight saving): production
// shifts, weekends and the daily balance follow it.
var ChinaTime = time.FixedZone("CST", 8*3600)

// Profile is a production or occupancy pattern: an hourly shape, a weekly
// and a seasonal factor, and slow random variation. It is a pure function
// of time and a key, so a restarted simulator continues the same curve.
type Profile struct {
	// Hourly is the relative rate at each full hour of the local day,
	// interpolated linearly in between.
	Hourly [24]float64
	// Weekly is the factor per weekday, Sunday first (time.Weekday).
	Weekly [7]float64
	// Monthly is the seasonal factor at the middle of each month,
	// interpolated linearly in between.
	Monthly [12]float64
	// Noise is the relative amplitude of the slow random variation.
	Noise float64
	// Min and Max clamp the result.
	Min, Max float64
}

// At returns the profile's value at t for the given key.
func (pr *Profile) At(t time.Time, key uint64) float64 {
	lt := t.In(ChinaTime)
	h := float64(lt.Hour()) + float64(lt.Minute())/60 + float64(lt.Second())/3600
	i := int(h)
	f := h - float64(i)
	v := pr.Hourly[i]*(1-f) + pr.Hourly[(i+1)%24]*f
	v *= pr.Weekly[lt.Weekday()]
	v *= pr.seasonal(lt)
	v *= 1 + pr.Noise*SmoothNoise(key, t, 3*time.Hour)
	return math.Min(math.Max(v, pr.Min), pr.Max)
}

func (pr *Profile) seasonal(lt time.Time) float64 {
	// Month m's value holds at its 15th; interpolate between neighbours.
	m := int(lt.Month()) - 1
	day := float64(lt.Day()-1) + float64(lt.Hour())/24
	days := float64(time.Date(lt.Year(), lt.Month()+1, 0, 0, 0, 0, 0, ChinaTime).Day())
	pos := (day+0.5)/days - 0.5 // -0.5 … +0.5 around mid-month
	other := m + 1
	if pos < 0 {
		other = m - 1
		pos = -pos
	}
	other = (other + 12) % 12
	return pr.Monthly[m]*(1-pos) + pr.Monthly[other]*pos
}

// flat returns a profile of ones with the given noise and bounds.
func flat(noise, lo, hi float64) Profile {
	var p Profile
	for i := range p.Hourly {
		p.Hourly[i] = 1
	}
	for i := range p.Weekly {
		p.Weekly[i] = 1
	}
	for i := range p.Monthly {
		p.Monthly[i] = 1
	}
	p.Noise, p.Min, p.Max = noise, lo, hi
	return p
}

// splitmix64 is a fast, well-mixed 64-bit hash (Steele, Lea, Flood 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// knot returns a deterministic, roughly standard-normal value for a key and
// a knot number (sum of three uniforms, rescaled to unit variance).
func knot(key uint64, n int64) float64 {
	h := splitmix64(key ^ splitmix64(uint64(n)))
	s := 0.0
	for i := 0; i < 3; i++ {
		s += float64(h&0x1fffff) / float64(0x1fffff)
		h >>= 21
	}
	return (s - 1.5) * 2 // variance of a sum of 3 U(0,1) is 1/4
}

// SmoothNoise is value noise: deterministic, continuous in t, roughly
// standard normal, varying over the given period (plus a faster octave of
// half the amplitude at a quarter of it).
func SmoothNoise(key uint64, t time.Time, period time.Duration) float64 {
	oct := func(k uint64, p time.Duration) float64 {
		ns := t.UnixNano()
		n := ns / int64(p)
		if ns < 0 && ns%int64(p) != 0 {
			n--
		}
		f := float64(ns-n*int64(p)) / float64(p)
		w := (1 - math.Cos(math.Pi*f)) / 2
		return knot(k, n)*(1-w) + knot(k, n+1)*w
	}
	return (oct(key, period) + 0.5*oct(key^0x5bd1e995, period/4)) / math.Sqrt(1.25)
}

// AirTemperature is the air temperature (°C) at t: the annual cycle, the
// daily cycle peaking at 15:00 local time, and weather noise over days.
func (p *Parameters) AirTemperature(t time.Time, key uint64) float64 {
	lt := t.In(ChinaTime)
	doy := float64(lt.YearDay()) + float64(lt.Hour())/24
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	v := p.AirMeanC + p.AirAnnualAmpC*math.Cos(2*math.Pi*(doy-p.AirWarmestDOY)/365.25)
	v += p.AirDailyAmpC * math.Cos(2*math.Pi*(h-15)/24)
	return v + 2*SmoothNoise(key, t, 36*time.Hour)
}
