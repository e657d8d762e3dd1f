package main

import (
	"crypto/tls"
	"fmt"
	stdlog "log"
	"log/slog"
	"strings"
	"time"
)

// serverTLS returns the TLS configurations of the HTTP server and of the
// MQTT broker (nil: plain). --tls-cert/--tls-key serve both; the
// --mqtt-tls-cert/--mqtt-tls-key pair, if given, replaces it for MQTT.
func serverTLS(cfg serverConfig) (httpTLS, mqttTLS *tls.Config, err error) {
	if httpTLS, err = loadTLS("--tls-cert", cfg.TLSCert, "--tls-key", cfg.TLSKey); err != nil {
		return nil, nil, err
	}
	mqttTLS = httpTLS
	if cfg.MQTTTLSCert != "" || cfg.MQTTTLSKey != "" {
		if mqttTLS, err = loadTLS("--mqtt-tls-cert", cfg.MQTTTLSCert, "--mqtt-tls-key", cfg.MQTTTLSKey); err != nil {
			return nil, nil, err
		}
	}
	return httpTLS, mqttTLS, nil
}

// loadTLS reads a PEM certificate chain and key into a server
// configuration; two empty names mean no TLS.
func loadTLS(certFlag, certFile, keyFlag, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("%s and %s go together", certFlag, keyFlag)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	// Every client would refuse an expired certificate; say so now, not
	// in each client's handshake error.
	if now := time.Now(); cert.Leaf != nil && (now.After(cert.Leaf.NotAfter) || now.Before(cert.Leaf.NotBefore)) {
		return nil, fmt.Errorf("TLS certificate %s is valid only from %s to %s", certFile,
			cert.Leaf.NotBefore.Format(time.RFC3339), cert.Leaf.NotAfter.Format(time.RFC3339))
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// httpErrorLog sends net/http's own error lines to log: failed TLS
// handshakes (a port scan, a browser that does not trust the CA) at debug
// level, since anyone can cause them; everything else (a handler's panic)
// as an error.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		w.log.Debug(msg)
	} else {
		w.log.Error(msg)
	}
	return len(p), nil
}
