package hj212

// Flag is the data segment's Flag field (Table 3): bits V5…V0 D A from bit 7 to bit 0.
type Flag uint8

// Flag bits.
const (
	FlagAck   Flag = 1 << 0 // A: the receiver must answer
	FlagSplit Flag = 1 << 1 // D: the packet is one of a split message and carries PNUM and PNO
)

// Version2017 is the version number of HJ 212-2017 in Flag's bits V5…V0 (HJ/T 212-2005 is 0).
const Version2017 = 1

// Ack reports whether the sender asks for an answer (bit A).
func (f Flag) Ack() bool { return f&FlagAck != 0 }

// Split reports whether the packet is part of a split message (bit D).
func (f Flag) Split() bool { return f&FlagSplit != 0 }

// Version returns the standard version in bits V5…V0.
func (f Flag) Version() int { return int(f >> 2) }

// Quality is how far a value can be used, from its data flag.
type Quality int

// Qualities, from usable to unusable.
const (
	QualityUnknown   Quality = iota // a flag Table 8 does not define
	QualityGood                     // N: normal measurement
	QualityUncertain                // T: above the instrument's upper limit; the true value is higher
	QualityManual                   // S: a value set by hand, not measured
	QualityInvalid                  // F, M, C: instrument stopped, in maintenance or calibrating
	QualityBad                      // D, B: instrument fault, communication with the data logger failed
)

// Measured reports whether a value of this quality is a measurement of the process: normal (N)
// or above the instrument's range (T, a lower bound of the truth). Stopped, maintenance, manual,
// fault, calibration and communication-failure values are not.
func (q Quality) Measured() bool { return q == QualityGood || q == QualityUncertain }

var qualityNames = [...]string{"unknown", "good", "uncertain", "manual", "invalid", "bad"}

// String returns the quality's name: good, uncertain, manual, invalid, bad or unknown.
func (q Quality) String() string {
	if q < 0 || int(q) >= len(qualityNames) {
		return "unknown"
	}
	return qualityNames[q]
}

// dataFlags is Table 8 (数据标记) with the quality each flag gives a value.
var dataFlags = map[string]Quality{
	"N": QualityGood,      // 在线监控（监测）仪器仪表工作正常
	"F": QualityInvalid,   // 停运
	"M": QualityInvalid,   // 维护
	"S": QualityManual,    // 手工输入设定值
	"D": QualityBad,       // 故障
	"C": QualityInvalid,   // 校准
	"T": QualityUncertain, // 超测上限
	"B": QualityBad,       // 与数采仪通讯异常
}

// FlagQuality returns the quality a data flag of Table 8 gives a value; QualityUnknown for a flag
// the table does not define. A value without a flag is QualityGood (the standard makes the flag
// optional for normal data).
func FlagQuality(flag string) Quality {
	if flag == "" {
		return QualityGood
	}
	if q, ok := dataFlags[flag]; ok {
		return q
	}
	return QualityUnknown
}
