package leak

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// SensorKind is what a SCADA column measures.
type SensorKind uint8

// Sensor kinds, named by their column prefixes.
const (
	// Pressure is a node pressure in m (column P_<node>).
	Pressure SensorKind = iota
	// Flow is a link flow in m³/h (column Q_<link>).
	Flow
	// Level is a tank level in m (column L_<tank>).
	Level
)

func (k SensorKind) String() string {
	return [...]string{"pressure", "flow", "level"}[k%3]
}

// Sensor is one measured quantity: its kind and the network element
// (node, link or tank ID) it is on.
type Sensor struct {
	Kind SensorKind
	ID   string
}

// Column returns the SCADA column name of the sensor (P_n1, Q_p227, L_T1).
func (s Sensor) Column() string {
	return [...]string{"P_", "Q_", "L_"}[s.Kind%3] + s.ID
}

// Topology tells whether a network has a given node or link; the SCADA
// reader uses it to reject sensors on elements the model does not know.
// *PipeGraph satisfies it.
type Topology interface {
	HasNode(id string) bool
	HasLink(id string) bool
}

// SCADA is a table of sensor readings at equally spaced times.
type SCADA struct {
	// Sensors are the sensor columns in file order.
	Sensors []Sensor
	// Times are the row times in seconds; Step apart.
	Times []int64
	Step  int64
	// Values[i][k] is the reading of Sensors[k] at Times[i].
	Values [][]float64
}

// Column returns the index of a sensor column by name, or -1.
func (s *SCADA) Column(name string) int {
	for k, sen := range s.Sensors {
		if sen.Column() == name {
			return k
		}
	}
	return -1
}

// ReadSCADA reads a SCADA CSV (optionally gzip-compressed): a header with
// t_s and sensor columns P_<node> (m), Q_<link> (m³/h) and L_<tank> (m);
// other columns are ignored and never parsed (so a label column such as
// leak_flow never reaches a detector). When net is not nil, every sensor
// must name a node (P_, L_) or link (Q_) of the network. Rows must be
// equally spaced in time, strictly increasing, without gaps or
// duplicates, and every sensor cell a finite number. Errors name the line
// and column.
func ReadSCADA(r io.Reader, net Topology) (*SCADA, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("scada: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("scada: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("scada header: %w", err)
	}
	timeCol := -1
	var cols []int
	s := &SCADA{}
	seen := map[string]bool{}
	for c, raw := range header {
		name := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
		if seen[name] {
			return nil, fmt.Errorf("scada line 1 column %d: duplicate column %q", c+1, name)
		}
		seen[name] = true
		if name == "t_s" {
			timeCol = c
			continue
		}
		sen, ok := parseSensorColumn(name)
		if !ok {
			continue
		}
		if net != nil {
			known := net.HasNode(sen.ID)
			if sen.Kind == Flow {
				known = net.HasLink(sen.ID)
			}
			if !known {
				return nil, fmt.Errorf("scada line 1 column %d %q: unknown %s sensor: %s is not in the network", c+1, name, sen.Kind, sen.ID)
			}
		}
		s.Sensors = append(s.Sensors, sen)
		cols = append(cols, c)
	}
	if timeCol < 0 {
		return nil, errors.New("scada line 1: no t_s column")
	}
	if len(s.Sensors) == 0 {
		return nil, errors.New("scada line 1: no sensor columns (P_<node>, Q_<link>, L_<tank>)")
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("scada: %w", err)
		}
		line, _ := cr.FieldPos(0)
		t, err := strconv.ParseInt(strings.TrimSpace(rec[timeCol]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("scada line %d column t_s: invalid time %q", line, rec[timeCol])
		}
		if n := len(s.Times); n > 0 {
			prev := s.Times[n-1]
			switch {
			case t == prev:
				return nil, fmt.Errorf("scada line %d: duplicate time %d", line, t)
			case t < prev:
				return nil, fmt.Errorf("scada line %d: time %d is before the previous row's %d (rows must be sorted)", line, t, prev)
			case n == 1:
				s.Step = t - prev
			case t-prev != s.Step:
				return nil, fmt.Errorf("scada line %d: gap: time %d follows %d, step is %d s", line, t, prev, s.Step)
			}
		}
		row := make([]float64, len(cols))
		for k, c := range cols {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[c]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("scada line %d column %s: not a number: %q", line, s.Sensors[k].Column(), rec[c])
			}
			row[k] = v
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, row)
	}
	if len(s.Times) < 2 {
		return nil, errors.New("scada: fewer than two rows")
	}
	return s, nil
}

func parseSensorColumn(name string) (Sensor, bool) {
	if len(name) < 3 || name[1] != '_' {
		return Sensor{}, false
	}
	kind, ok := map[byte]SensorKind{'P': Pressure, 'Q': Flow, 'L': Level}[name[0]]
	if !ok {
		return Sensor{}, false
	}
	return Sensor{Kind: kind, ID: name[2:]}, true
}
