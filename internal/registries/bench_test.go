package registries

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// BenchmarkSearch: a registry search over the catalogue, 100 providers and
// the water managers of 5,000 enterprises (the province), SQLite.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: production.Zone})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateRegion(ctx, meter.Region{Code: "430100", Name: "长沙市", Parent: "430000"}))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone)
	for i := range 5000 {
		id := fmt.Sprintf("E%05d", i)
		must(st.CreateEnterprise(ctx, meter.Enterprise{ID: id, Name: "企业" + id, Region: "430100", Industry: "3120"}))
		must(st.PutWaterManager(ctx, directory.Manager{Enterprise: id, Name: fmt.Sprintf("经理%d", i), Appointed: at, UpdatedBy: "t", UpdatedAt: at}))
	}
	for i := range 100 {
		must(st.PutProvider(ctx, directory.Provider{ID: fmt.Sprintf("SP-%03d", i), Name: fmt.Sprintf("服务机构%d", i), Region: "430100",
			Services: []directory.Service{directory.Diagnosis}, UpdatedBy: "t", UpdatedAt: at}, true))
	}
	svc := &Service{Store: st}
	b.ResetTimer()
	for b.Loop() {
		hits, err := svc.Search(ctx, "经理4999", store.Filter{})
		if err != nil || len(hits) != 1 {
			b.Fatalf("%v %v", hits, err)
		}
	}
}
