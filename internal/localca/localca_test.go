package localca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"testing"
	"time"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnsure: a new directory gets a P-256 CA and a server certificate that
// verifies for every loopback name; a second call keeps both; a server
// certificate near expiry is replaced under the same CA; the key files are
// private.
func TestEnsure(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	f, err := Ensure(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey, err := load(f.CACert, f.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || caKey.Curve != elliptic.P256() {
		t.Fatalf("CA: IsCA %v curve %v", ca.IsCA, caKey.Curve.Params().Name)
	}
	srv, _, err := load(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := Pool(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range Hosts {
		if _, err := srv.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("server certificate verifies for example.com")
	}
	for _, k := range []string{f.CAKey, f.ServerKey} {
		if fi, err := os.Stat(k); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", k, fi.Mode(), err)
		}
	}

	caPEM, srvPEM := read(t, f.CACert), read(t, f.ServerCert)
	if _, err := Ensure(dir, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, f.CACert), caPEM) || !bytes.Equal(read(t, f.ServerCert), srvPEM) {
		t.Fatal("a second Ensure replaced usable files")
	}
	later := now.Add(ServerValidity - RenewBefore + time.Hour)
	if _, err := Ensure(dir, later); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, f.CACert), caPEM) || bytes.Equal(read(t, f.ServerCert), srvPEM) {
		t.Fatal("near expiry: want the same CA and a new server certificate")
	}
	srv2, _, err := load(f.ServerCert, f.ServerKey)
	if err != nil || srv2.CheckSignatureFrom(ca) != nil {
		t.Fatalf("renewed certificate not from the kept CA: %v", err)
	}

	// A damaged CA key is an error, not silently a new CA.
	if err := os.WriteFile(f.CAKey, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, now); err == nil {
		t.Fatal("Ensure accepted a damaged CA key")
	}
}

// TestNameConstraints: the CA cannot vouch for a name outside loopback,
// even when its key signs one.
func TestNameConstraints(t *testing.T) {
	f, err := Ensure(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey, err := load(f.CACert, f.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "bank.example"}, DNSNames: []string{"bank.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool, _ := Pool(f.CACert)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "bank.example", Roots: pool}); err == nil {
		t.Fatal("the local CA vouches for bank.example")
	}
}
