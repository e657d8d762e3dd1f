package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The demo's registries (internal/registries): simulated third-party
// service providers that served some of the province's enterprises, water
// managers appointed by every other enterprise (so that some above the
// 100,000 m³ line are flagged for having none), answers to the declared
// requirements of the GB/T 7119 evaluation for the first enterprise, and
// the first retrofit case the quota review opens linked to a provider and
// a technology of its industry. Every name says it is simulated.

// demoProviders are the simulated service providers.
var demoProviders = []struct {
	id, name, nameEN string
	services         []string
	quals            []string
}{
	{"SP-SIM-01", "湘水水平衡测试中心（模拟）", "Xiangshui water-balance testing centre (simulated)", []string{"water_balance_test", "diagnosis"}, []string{"检验检测机构资质认定 CMA（模拟）"}},
	{"SP-SIM-02", "洞庭合同节水服务公司（模拟）", "Dongting contract water-saving company (simulated)", []string{"contract_saving", "design"}, []string{"合同节水管理服务（模拟）"}},
	{"SP-SIM-03", "麓山节水诊断所（模拟）", "Lushan water-saving diagnosis (simulated)", []string{"diagnosis"}, nil},
}

// seedRegistries posts the demo's registries; a record already stored (a
// restart) is left as it is.
func (s *Sim) seedRegistries(ctx context.Context) {
	year := time.Now().In(ChinaTime).Year() - 1
	for k, p := range demoProviders {
		var served []map[string]any
		for i, er := range s.ents {
			if i%len(demoProviders) == k && len(served) < 4 {
				served = append(served, map[string]any{"enterprise": er.e.ID, "service": p.services[0], "year": year})
			}
		}
		body := map[string]any{"id": p.id, "name": p.name, "name_en": p.nameEN, "region": "430100", "services": p.services,
			"qualifications": p.quals, "served": served}
		if status, err := s.api.doStatus(ctx, http.MethodPost, "/api/v1/service-providers", body, nil); err != nil && status != http.StatusConflict && ctx.Err() == nil {
			s.logf("服务机构未登记 / service provider not stored: %v", err)
			return
		}
	}
	managers := 0
	for i, er := range s.ents {
		if i%2 == 1 {
			continue
		}
		body := map[string]any{"name": fmt.Sprintf("水务经理%d（模拟）", i+1), "phone": fmt.Sprintf("0731-8800%04d", i+1),
			"appointed": time.Date(year, 3, 1, 0, 0, 0, 0, ChinaTime).Format(time.RFC3339)}
		if _, err := s.api.doStatus(ctx, http.MethodPut, "/api/v1/enterprises/"+url.PathEscape(er.e.ID)+"/water-manager", body, nil); err != nil {
			if ctx.Err() == nil {
				s.logf("水务经理未登记 / water manager not stored: %v", err)
			}
			return
		}
		managers++
	}
	if len(s.ents) > 0 {
		answers := []map[string]any{
			{"requirement": "separate_domestic", "met": true, "note": "生活与生产分表计量（模拟）"},
			{"requirement": "no_flat_fee", "met": true},
			{"requirement": "discharge_compliant", "met": true},
			{"requirement": "within_plan", "met": false, "note": "上一年超计划 3%（模拟）"},
		}
		if _, err := s.api.doStatus(ctx, http.MethodPost, "/api/v1/enterprises/"+url.PathEscape(s.ents[0].e.ID)+"/evaluation-answers", map[string]any{"answers": answers}, nil); err != nil && ctx.Err() == nil {
			s.logf("评价申报未保存 / evaluation answers not stored: %v", err)
		}
	}
	s.logf("已登记 / registries seeded: %d service providers, %d water managers (simulated)", len(demoProviders), managers)
	s.linkFirstCase(ctx)
}

// linkFirstCase waits (up to an hour) for the quota review to open a
// retrofit case and links the first to a provider and a technology of its
// enterprise's industry: the catalogue's first typical case.
func (s *Sim) linkFirstCase(ctx context.Context) {
	for range 60 {
		var cases []struct {
			ID         int64  `json:"id"`
			Enterprise string `json:"enterprise"`
		}
		if _, err := s.api.doStatus(ctx, http.MethodGet, "/api/v1/quota-cases", nil, &cases); err == nil && len(cases) > 0 {
			c := cases[len(cases)-1] // the oldest
			industry := ""
			for _, er := range s.ents {
				if er.e.ID == c.Enterprise {
					industry = er.e.Industry
				}
			}
			var techs struct {
				Technologies []struct {
					ID string `json:"id"`
				} `json:"technologies"`
			}
			if _, err := s.api.doStatus(ctx, http.MethodGet, "/api/v1/technologies?industry="+url.QueryEscape(industry), nil, &techs); err != nil || len(techs.Technologies) == 0 {
				return
			}
			body := map[string]any{"provider": demoProviders[1].id, "technology": techs.Technologies[0].ID, "note": "合同节水改造（模拟）"}
			if _, err := s.api.doStatus(ctx, http.MethodPut, fmt.Sprintf("/api/v1/quota-cases/%d/link", c.ID), body, nil); err != nil {
				if ctx.Err() == nil {
					s.logf("改造案例未关联 / case not linked: %v", err)
				}
				return
			}
			s.logf("改造案例 %d 已关联服务机构与技术 / case %d linked to %s and %s (simulated)", c.ID, c.ID, demoProviders[1].id, techs.Technologies[0].ID)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}
