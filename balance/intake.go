package balance

import "github.com/shuixiao/shuixiao/meter"

// IsIntake reports whether a point's volume counts in the enterprise's
// intake Vi (a level-1 intake point): the boundary of a whole-facility
// saving (package contract, IPMVP Option C).
func IsIntake(p meter.Point) bool { return isIntake(p) }
