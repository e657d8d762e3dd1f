package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
)

func BenchmarkSaveCommands(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b, Options{ManualCompaction: true, Sync: SyncNormal})
	setup(b, s, 1)
	c := command.Record{Kind: command.KindIssue, Plant: "PL1", Enterprise: "E", Device: "D1", Actuator: "blowdown_valve",
		Value: 42, Unit: "%", Max: 100, Source: "controller", By: "cooling.blowdown", Issued: time.Unix(1700000000, 0),
		Inputs: []command.Input{{Name: "basin_cond_us_cm", Value: 2000}, {Name: "makeup_cond_us_cm", Value: 400}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.ID = fmt.Sprintf("C%d", i)
		i++
		if err := s.SaveCommands(ctx, []command.Record{c}); err != nil {
			b.Fatal(err)
		}
	}
}
