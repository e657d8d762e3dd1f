package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// hj212BenchStack is the platform behind the gateway in bench hj212: a ledger, a SQLite store
// and the ingest pipeline in a temporary directory, one enterprise whose discharge outlets are
// fed by the bench's devices (one gateway-signed meter each, mapped w00000-Rtd → flow, w01018-Rtd
// → COD, w01001-Rtd → pH), and the gateway's signing Sink submitting to that pipeline.
type hj212BenchStack struct {
	dir      string
	st       *sqlite.Store
	lg       *ledger.Log
	pipeline *ingest.Pipeline
	archive  *gateway.Archive
	sink     *gateway.SigningSink
}

// hj212BenchPoints is how many discharge points the bench devices' meters share.
const hj212BenchPoints = 100

func openHJ212BenchStack(ctx context.Context, devices int) (_ *hj212BenchStack, err error) {
	s := &hj212BenchStack{}
	if s.dir, err = os.MkdirTemp("", "shuixiao-bench-hj212-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.st, err = sqlite.Open(filepath.Join(s.dir, "store.db"), sqlite.Options{}); err != nil {
		return nil, err
	}
	if s.lg, err = ledger.Open(ctx, ledger.Options{Dir: filepath.Join(s.dir, "ledger"), Origin: "bench.shuixiao.example/hj212"}); err != nil {
		return nil, err
	}
	dir := ingest.NewDirectory()
	if s.pipeline, err = ingest.New(ingest.Options{Ledger: s.lg, Store: s.st, Directory: dir}); err != nil {
		return nil, err
	}
	var chans []meter.Channel
	for _, name := range []string{"flow_m3h", "cod_mg_l", "ph"} {
		c, _ := meter.StandardChannel(name)
		chans = append(chans, c)
	}
	steps := []error{
		s.st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		s.st.CreatePark(ctx, meter.Park{ID: "BENCH-PARK", Name: "负载测试园区", Region: "430000"}),
		s.st.CreateEnterprise(ctx, meter.Enterprise{ID: "BENCH-EN", Name: "负载测试企业", Park: "BENCH-PARK", Region: "430000", Industry: "2614"}),
	}
	for i := range hj212BenchPoints {
		steps = append(steps, s.st.CreatePoint(ctx, meter.Point{ID: fmt.Sprintf("BENCH-D%03d", i), Enterprise: "BENCH-EN",
			Name: fmt.Sprintf("排口 %d", i), Level: meter.Level1, Stage: meter.StageDischarge, Channels: chans}))
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	reg := &registry.Meters{Store: s.st, Ledger: s.lg, Ingest: s.pipeline, Devices: devicecred.New(s.st, dir), Now: time.Now}
	const gw = "GW-BENCH"
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName(gw))
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	if _, _, err := reg.RegisterGateway(ctx, registry.GatewayRegistration{ID: gw, Key: vkey}); err != nil {
		return nil, err
	}
	maps := &gateway.Mappings{Store: s.st}
	// A meter registration is a key entry, which the pipeline appends to the ledger alone (one
	// synced append each, 15–20 ms on this disk): 5,000 devices take over a minute to set up.
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := fmt.Sprintf("BENCH-M%05d", i)
				_, err := reg.Register(ctx, registry.Registration{ID: id, Point: fmt.Sprintf("BENCH-D%03d", i%hj212BenchPoints), Gateway: gw})
				if err == nil {
					_, err = maps.Put(ctx, meter.DeviceMapping{Protocol: gateway.ProtocolHJ212, Device: benchMN(i), Password: hj212BenchPW, Gateway: gw,
						Fields: []meter.FieldMapping{
							{Field: "w00000-Rtd", Meter: id, Channel: "flow_m3h", Kind: meter.Rate, Unit: "L/s"},
							{Field: "w01018-Rtd", Meter: id, Channel: "cod_mg_l", Kind: meter.Rate},
							{Field: "w01001-Rtd", Meter: id, Channel: "ph", Kind: meter.Rate},
						}}, "")
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("device %d: %w", i, err):
					default:
					}
				}
			}
		}()
	}
	for i := range devices {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	if s.archive, err = gateway.OpenArchive(filepath.Join(s.dir, "frames")); err != nil {
		return nil, err
	}
	s.sink, err = gateway.NewSigningSink(gateway.SinkOptions{Gateway: gw, Signer: signer, Registry: s.st, Archive: s.archive,
		Submit: gateway.PipelineSubmitter{Pipeline: s.pipeline}})
	return s, err
}

// Close stops the pipeline, closes ledger, store and archive and removes the directory.
func (s *hj212BenchStack) Close() {
	if s.pipeline != nil {
		s.pipeline.Close()
	}
	if s.archive != nil {
		s.archive.Close()
	}
	if s.lg != nil {
		s.lg.Close(context.Background())
	}
	if s.st != nil {
		s.st.Close()
	}
	os.RemoveAll(s.dir)
}
