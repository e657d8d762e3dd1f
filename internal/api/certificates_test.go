package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	tokensvc "github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// statementsOf is a fixed set of M&V statements (helper mv's store stands
// behind this interface in the server).
type statementsOf map[string]rights.StatementRef

func (f statementsOf) Statement(_ context.Context, id string) (rights.StatementRef, error) {
	if s, ok := f[id]; ok {
		return s, nil
	}
	return rights.StatementRef{}, fmt.Errorf("statement %s: %w", id, store.ErrNotFound)
}

type certView struct {
	ID        string `json:"id"`
	Allowance uint64 `json:"statement_allowance_m3"`
	Issued    uint64 `json:"statement_issued_m3"`
	Volume    uint64 `json:"volume_m3"`
	Retired   uint64 `json:"retired_m3"`
	Holdings  []struct {
		Holder string `json:"holder"`
		Volume uint64 `json:"volume_m3"`
	} `json:"holdings"`
	History []struct {
		Index   uint64 `json:"index"`
		Receipt string `json:"receipt"`
		Op      string `json:"op"`
		Actor   string `json:"actor"`
		Volume  uint64 `json:"volume_m3"`
	} `json:"history"`
}

// certificateServer is an API over a real ledger, pipeline and SQLite
// store with one verifiable statement of EN-A (savings 1000.7 ± 200.2 m³:
// allowance 800 m³).
func certificateServer(t *testing.T) (map[string]client, *sqlite.Store, *ledger.Log, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Origin: "test.example/certificates"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close(context.Background()) })
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: ingest.NewDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	first, _ := lg.SignNote(reading.PointHeader + "\nplaceholder\n")
	if _, err := lg.Append(ctx, [][]byte{first}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreateRegion(ctx, meter.Region{Code: "430300", Name: "湘潭市", Parent: "430000"}),
		st.CreateRegion(ctx, meter.Region{Code: "430100", Name: "长沙市", Parent: "430000"}),
		st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430300"}),
		st.CreatePark(ctx, meter.Park{ID: "PK2", Name: "园区二", Region: "430100"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-A", Name: "节水企业", Park: "PK", Region: "430302"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-B", Name: "买方", Park: "PK2", Region: "430121"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-C", Name: "第三方", Park: "PK2", Region: "430121"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-D", Name: "无关", Park: "PK", Region: "430302"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte("statement"))
	d := hex.EncodeToString(sum[:])
	stmt := rights.StatementRef{ID: "mvs-" + d[:16], Contract: "ct-1", Enterprise: "EN-A", SavingsM3: 1000.7, UncertaintyM3: 200.2,
		MeetsGuideline14: true, CheckpointSize: 1, Digest: d}
	secrets := map[string]string{}
	for _, tk := range []store.Token{{ID: "admin", Role: store.RoleAdmin}, {ID: "auditor", Role: store.RoleAuditor},
		{ID: "reg", Role: store.RoleRegulator}, {ID: "reg-cs", Role: store.RoleRegulator, Scope: "430100"},
		{ID: "ent-a", Role: store.RoleEnterprise, Scope: "EN-A"}, {ID: "ent-b", Role: store.RoleEnterprise, Scope: "EN-B"},
		{ID: "ent-d", Role: store.RoleEnterprise, Scope: "EN-D"}} {
		tk.Created = time.Now()
		secrets[tk.ID] = tokensvc.NewSecret()
		if err := st.CreateToken(ctx, tk, store.HashToken(secrets[tk.ID])); err != nil {
			t.Fatal(err)
		}
	}
	svc := &rights.Service{Store: st, Statements: statementsOf{stmt.ID: stmt}, Ledger: lg, Ingest: p}
	srv := httptest.NewServer(api.New(api.Options{Store: st, Ledger: lg, Ingest: p, Rights: svc, Logger: quiet}))
	t.Cleanup(srv.Close)
	cl := map[string]client{}
	for id, sec := range secrets {
		cl[id] = client{t: t, base: srv.URL + "/api/v1", token: sec}
	}
	return cl, st, lg, stmt.ID
}

// TestCertificateRoutes walks a certificate through issue, transfer and
// retirement over HTTP with each role, and the refusals on the way.
func TestCertificateRoutes(t *testing.T) {
	cl, st, lg, stmt := certificateServer(t)
	var out struct {
		Operation struct {
			Index uint64 `json:"index"`
		} `json:"operation"`
		Certificate certView `json:"certificate"`
	}
	issue := map[string]any{"statement": stmt, "volume": 600, "certificate": "wrc-1"}
	cl["ent-a"].expect(http.StatusForbidden, "POST", "/certificates", issue, nil)
	cl["reg-cs"].expect(http.StatusForbidden, "POST", "/certificates", issue, nil) // EN-A is outside 长沙
	cl["reg"].expect(http.StatusCreated, "POST", "/certificates", issue, &out)
	if out.Certificate.Volume != 600 || len(out.Certificate.History) != 1 || out.Certificate.History[0].Actor != "reg" {
		t.Fatalf("issued %+v", out.Certificate)
	}
	code, body := cl["admin"].raw("POST", "/certificates", map[string]any{"statement": stmt, "volume": 201})
	if code != http.StatusConflict || !strings.Contains(body, "allows 800") {
		t.Fatalf("over-issue: %d %s", code, body)
	}
	cl["admin"].expect(http.StatusConflict, "POST", "/certificates", issue, nil) // certificate ID again
	cl["admin"].expect(http.StatusNotFound, "POST", "/certificates", map[string]any{"statement": "mvs-0000000000000000"}, nil)

	move := map[string]any{"from": "EN-A", "to": "EN-B", "volume": 250}
	cl["ent-b"].expect(http.StatusForbidden, "POST", "/certificates/wrc-1/transfer", move, nil)
	cl["reg"].expect(http.StatusForbidden, "POST", "/certificates/wrc-1/transfer", move, nil)
	cl["ent-a"].expect(http.StatusCreated, "POST", "/certificates/wrc-1/transfer", map[string]any{"to": "EN-B", "volume": 250}, &out)
	code, body = cl["ent-b"].raw("POST", "/certificates/wrc-1/retire", map[string]any{"volume": 300, "purpose": "抵消取水"})
	if code != http.StatusConflict || !strings.Contains(body, "EN-B holds 250") {
		t.Fatalf("retire beyond the holding: %d %s", code, body)
	}
	cl["ent-b"].expect(http.StatusCreated, "POST", "/certificates/wrc-1/retire", map[string]any{"volume": 50, "purpose": "抵消取水"}, nil)
	cl["admin"].expect(http.StatusCreated, "POST", "/certificates/wrc-1/transfer", map[string]any{"from": "EN-B", "to": "EN-C", "volume": 100}, nil)
	cl["admin"].expect(http.StatusNotFound, "POST", "/certificates/wrc-9/transfer", move, nil)

	var c certView
	cl["ent-b"].expect(http.StatusOK, "GET", "/certificates/wrc-1", nil, &c)
	if len(c.History) != 4 || c.Retired != 50 || c.Allowance != 800 || c.Issued != 600 {
		t.Fatalf("history %+v", c)
	}
	holdings := map[string]uint64{}
	for _, h := range c.Holdings {
		holdings[h.Holder] = h.Volume
	}
	if holdings["EN-A"] != 350 || holdings["EN-B"] != 100 || holdings["EN-C"] != 100 {
		t.Errorf("holdings %v", holdings)
	}
	for i, ev := range c.History {
		if i > 0 && ev.Index <= c.History[i-1].Index {
			t.Errorf("history not in ledger order: %+v", c.History)
		}
	}
	// A transfer's entry (and receipt, once a checkpoint covers it) is
	// served to a party of it, not to others.
	if want := fmt.Sprintf("/api/v1/proof?index=%d", c.History[1].Index); c.History[1].Receipt != want {
		t.Errorf("receipt link %q, want %q", c.History[1].Receipt, want)
	}
	entry := fmt.Sprintf("/ledger/entry?index=%d", c.History[1].Index)
	if code, body := cl["ent-b"].raw("GET", entry, nil); code != http.StatusOK || !strings.HasPrefix(body, reading.RightHeader+"\nop transfer\n") {
		t.Errorf("the transfer's entry for its party: %d %.80q", code, body)
	}
	cl["ent-d"].expect(http.StatusForbidden, "GET", entry, nil, nil)
	cl["ent-d"].expect(http.StatusForbidden, "GET", strings.TrimPrefix(c.History[1].Receipt, "/api/v1"), nil, nil)
	cl["ent-d"].expect(http.StatusForbidden, "GET", "/certificates/wrc-1", nil, nil)

	var list struct {
		Certificates []certView `json:"certificates"`
		Balances     []struct {
			Holder  string `json:"holder"`
			Held    uint64 `json:"held_m3"`
			Retired uint64 `json:"retired_m3"`
		} `json:"balances"`
	}
	cl["ent-d"].expect(http.StatusOK, "GET", "/certificates", nil, &list)
	if len(list.Certificates) != 0 || len(list.Balances) != 0 {
		t.Errorf("an enterprise never party to a certificate sees %+v", list)
	}
	cl["auditor"].expect(http.StatusOK, "GET", "/certificates?holder=EN-B", nil, &list)
	if len(list.Certificates) != 1 || len(list.Balances) != 1 || list.Balances[0].Held != 100 || list.Balances[0].Retired != 50 {
		t.Errorf("EN-B's certificates and balance: %+v", list)
	}
	cl["reg-cs"].expect(http.StatusOK, "GET", "/certificates", nil, &list)
	if len(list.Certificates) != 1 || len(list.Balances) != 2 { // EN-B and EN-C are in 长沙, EN-A is not
		t.Errorf("长沙 regulator sees %+v", list)
	}

	// Ledger and store agree: 4 entries applied, none of the refusals.
	size, _ := lg.Size(context.Background())
	n := 0
	lg.Entries(context.Background(), 0, size, func(_ uint64, e []byte) error {
		if reading.Kind(e) == reading.RightHeader {
			n++
		}
		return nil
	})
	kept, _ := st.CertificateEvents(context.Background())
	if n != 4 || len(kept) != 4 {
		t.Errorf("%d certificate entries on the ledger, %d in the store, want 4", n, len(kept))
	}
}

// TestCertificateRetry: an issue or transfer repeated with its operation
// ID is answered as the first time — 201 and the same body, the
// certificate as that operation left it — and writes nothing; the ID with
// another request, or from another token, is 409.
func TestCertificateRetry(t *testing.T) {
	cl, st, _, stmt := certificateServer(t)
	issue := map[string]any{"statement": stmt, "volume": 600, "operation": "op-issue-1"}
	code, first := cl["reg"].raw("POST", "/certificates", issue)
	if code != http.StatusCreated {
		t.Fatalf("issue: %d %s", code, first)
	}
	var out struct {
		Certificate certView `json:"certificate"`
	}
	cl["reg"].expect(http.StatusCreated, "POST", "/certificates", issue, &out)
	cert := out.Certificate.ID
	move := map[string]any{"to": "EN-B", "volume": 250, "operation": "op-move-1"}
	code, moved := cl["ent-a"].raw("POST", "/certificates/"+cert+"/transfer", move)
	if code != http.StatusCreated {
		t.Fatalf("transfer: %d %s", code, moved)
	}
	for _, again := range []struct {
		c          client
		path       string
		body       map[string]any
		want, name string
	}{
		{cl["reg"], "/certificates", issue, first, "issue"},
		{cl["ent-a"], "/certificates/" + cert + "/transfer", move, moved, "transfer"},
	} {
		if code, body := again.c.raw("POST", again.path, again.body); code != http.StatusCreated || body != again.want {
			t.Errorf("%s repeated: %d\n%s\nthe first answer:\n%s", again.name, code, body, again.want)
		}
	}
	cl["admin"].expect(http.StatusConflict, "POST", "/certificates", issue, nil) // another token
	cl["reg"].expect(http.StatusConflict, "POST", "/certificates", map[string]any{"statement": stmt, "volume": 100, "operation": "op-issue-1"}, nil)
	cl["ent-a"].expect(http.StatusConflict, "POST", "/certificates/"+cert+"/transfer", map[string]any{"to": "EN-C", "volume": 250, "operation": "op-move-1"}, nil)
	if kept, _ := st.CertificateEvents(context.Background()); len(kept) != 2 {
		t.Errorf("%d certificate entries in the store, want 2", len(kept))
	}
}
