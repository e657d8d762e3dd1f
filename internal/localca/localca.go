// Package localca makes and keeps a local certificate authority and a
// server certificate signed by it, so that `shuixiao demo` can serve HTTPS
// and MQTT over TLS on loopback without a public CA. Keys are ECDSA P-256
// (FIPS 186-5, the curve every TLS stack accepts); certificates follow RFC
// 5280. The CA is name-constrained (RFC 5280 §4.2.1.10) to localhost and the
// loopback addresses, so a user who trusts it trusts it for nothing else,
// even if its key leaks from the demo directory.
//
// Layout of the directory given to Ensure:
//
//	ca.pem      the CA certificate: what a browser or device is told to trust
//	ca.key      the CA's private key (mode 0600)
//	server.pem  the server certificate for the loopback names
//	server.key  its private key (mode 0600)
//
// Files that exist and are usable are kept: a restart reuses the CA, so a
// browser that trusts it once keeps trusting it.
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/shuixiao/shuixiao/internal/atomicfile"
)

// Validity of what Ensure issues, and how long before expiry it replaces a
// server certificate.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 365 * 24 * time.Hour
	RenewBefore    = 30 * 24 * time.Hour
)

// Hosts are the names the server certificate covers.
var Hosts = []string{"localhost", "127.0.0.1", "::1"}

// Files names the PEM files of a local CA directory.
type Files struct {
	CACert, CAKey, ServerCert, ServerKey string
}

// FilesIn returns the file names in dir.
func FilesIn(dir string) Files {
	return Files{CACert: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca.key"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server.key")}
}

// Ensure makes dir's CA unless a usable one is there (both files parse, the
// key matches, it is valid for at least RenewBefore more), then a server
// certificate for Hosts unless a usable one signed by that CA is there.
func Ensure(dir string, now time.Time) (Files, error) {
	f := FilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("local CA: %w", err)
	}
	ca, caKey, err := load(f.CACert, f.CAKey)
	if err != nil || !ca.IsCA || now.Add(RenewBefore).After(ca.NotAfter) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return f, fmt.Errorf("local CA in %s is unusable (remove the directory to make a new one): %w", dir, err)
		}
		if ca, caKey, err = newCA(f, now); err != nil {
			return f, err
		}
	}
	srv, _, err := load(f.ServerCert, f.ServerKey)
	if err == nil && serverUsable(srv, ca, now) {
		return f, nil
	}
	if err := newServer(f, ca, caKey, now); err != nil {
		return f, err
	}
	return f, nil
}

// Pool returns a certificate pool holding the CA certificates in file.
func Pool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

func serverUsable(srv, ca *x509.Certificate, now time.Time) bool {
	if now.Add(RenewBefore).After(srv.NotAfter) || srv.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, h := range Hosts {
		if srv.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func newCA(f Files, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"shuixiao demo"}, CommonName: "shuixiao local CA " + now.UTC().Format("2006-01-02T15:04Z")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		// Trusting this CA means trusting it for loopback only.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges:           []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}, {IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("local CA: %w", err)
	}
	if err := write(f.CACert, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func newServer(f Files, ca *x509.Certificate, caKey crypto.Signer, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := serialNumber()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"shuixiao demo"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, h := range Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	return write(f.ServerCert, f.ServerKey, der, key)
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// write stores a certificate and its key, the key first and private, each
// through a temporary file so a crash never leaves half a file.
func write(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// load reads a certificate and its private key and checks that they match.
func load(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || cblk.Type != "CERTIFICATE" || kblk == nil || kblk.Type != "PRIVATE KEY" {
		return nil, nil, fmt.Errorf("%s or %s is not the PEM this package writes", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(kblk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an ECDSA key", keyFile)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil || !bytes.Equal(pub, cert.RawSubjectPublicKeyInfo) {
		return nil, nil, fmt.Errorf("%s does not match %s", keyFile, certFile)
	}
	return cert, key, nil
}
