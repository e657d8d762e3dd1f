package cooling_test

import (
	"fmt"

	"github.com/shuixiao/shuixiao/cooling"
)

// The tower balance of chemistry.md §4: 1000 m³/h, 10 °C range, 5 cycles, 0.01 % drift.
func ExampleBalance() {
	e, err := cooling.LoadEvaporation()
	if err != nil {
		panic(err)
	}
	f, err := cooling.Balance(e.EvaporationUS(1000, 10), 5, 0.0001*1000)
	if err != nil {
		panic(err)
	}
	fmt.Printf("E %.3f  B+D %.3f  B %.3f  M %.3f m³/h\n", f.Evaporation, f.Purge(), f.Blowdown, f.Makeup)
	fmt.Printf("inhibitor at 5 mg/L: %.5f kg/h\n", cooling.InhibitorFeed(f.Purge(), 5))
	// Output:
	// E 15.300  B+D 3.825  B 3.725  M 19.125 m³/h
	// inhibitor at 5 mg/L: 0.01912 kg/h
}
