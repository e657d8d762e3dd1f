package balance

import (
	"fmt"

	"github.com/shuixiao/shuixiao/meter"
)

// A figure's note is written Chinese first, then English, joined by " / ",
// as the console shows its own text (Chinese first, English beside it).

// term names a figure in both languages.
type term struct{ zh, en string }

// bi joins a Chinese and an English note.
func bi(zh, en string) string { return zh + " / " + en }

// bif formats a note whose two languages share the arguments: zh and en
// are format strings taking a in the same order.
func bif(zh, en string, a ...any) string { return bi(fmt.Sprintf(zh, a...), fmt.Sprintf(en, a...)) }

var sourceZH = map[meter.Source]string{
	meter.SourceSurface: "地表水", meter.SourceGround: "地下水", meter.SourceMunicipal: "自来水", meter.SourceReclaimed: "再生水",
	meter.SourceRain: "雨水", meter.SourceMine: "矿井水", meter.SourceSteam: "外购蒸汽",
}

var purposeZH = map[meter.Purpose]string{
	meter.PurposeIndirectCooling: "间接冷却", meter.PurposeDirectCooling: "直接冷却", meter.PurposeProcess: "工艺",
	meter.PurposeBoiler: "锅炉", meter.PurposeDomestic: "生活",
}

func sourceName(s meter.Source) string {
	if v, ok := sourceZH[s]; ok {
		return v
	}
	return string(s)
}

func purposeName(p meter.Purpose) string {
	if v, ok := purposeZH[p]; ok {
		return v
	}
	return string(p)
}
