package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/sim"
	"github.com/shuixiao/shuixiao/internal/store"
)

// demoContractDelay is how long after start the demo seeds its contract.
const demoContractDelay = 150 * time.Second

// demoContract seeds the demo's contract-water-saving story
// (sim.SeedContract) and logs its statements, which shuixiao verify
// savings recomputes from the ledger.
//
// The demo starts it after demoContractDelay: its fourteen months of history
// arrive late by design (ingest flags them as clock skew and raises the
// meter's skew alarm, which the seeding clears with a note), so it waits
// until the demo's first-minute story (no skew alarm in it) has played.
func demoContract(ctx context.Context, s *server, simTLS *tls.Config, seed int64, log *slog.Logger) []string {
	a := &sim.API{Base: s.URL(), Token: s.token}
	if simTLS != nil {
		a.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: simTLS}}
	}
	ids, err := sim.SeedContract(ctx, a, time.Now(), seed)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("demo contract not seeded", "error", err)
		}
		return nil
	}
	log.Info("合同节水示例 / demo contract", "contract", sim.ContractDemoID, "statements", ids,
		"verify", "shuixiao verify savings "+s.URL()+"/ledger/ --log-key KEY --statement "+ids[len(ids)-1]+" --token TOKEN")
	demoCertificate(ctx, s, ids, log)
	return ids
}

// demoCertificate issues the first verifiable statement's allowance as a
// water-rights certificate and transfers half of it to another enterprise
// (rights.SeedDemo; nothing new on a restart).
func demoCertificate(ctx context.Context, s *server, ids []string, log *slog.Logger) {
	for _, id := range ids {
		st, err := s.rights.Statements.Statement(ctx, id)
		if err != nil || !st.Verifiable() {
			continue
		}
		ents, err := s.store.Enterprises(ctx, store.Filter{})
		if err != nil {
			log.Warn("demo certificate not issued", "error", err)
			return
		}
		for _, e := range ents {
			if e.ID == st.Enterprise {
				continue
			}
			if err := rights.SeedDemo(ctx, s.rights, id, e.ID); err != nil {
				log.Warn("demo certificate not issued", "error", err)
			} else {
				log.Info("水权证书示例 / demo certificate", "statement", id, "buyer", e.ID)
			}
			return
		}
	}
	log.Warn("demo certificate not issued: no verifiable statement or no buyer")
}
