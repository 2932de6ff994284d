package streaming

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dockercri-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSConfig(t *testing.T) {
	cert, key := writeCert(t)
	tests := []struct {
		name           string
		give           Config
		wantErr        string
		wantTLS        bool
		wantClientAuth tls.ClientAuthType
	}{
		{name: "plain HTTP by default", give: Config{}},
		{name: "certificate and key", give: Config{TLSCertFile: cert, TLSKeyFile: key}, wantTLS: true},
		{name: "client certificates verified", give: Config{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: cert},
			wantTLS: true, wantClientAuth: tls.RequireAndVerifyClientCert},
		{name: "certificate without key", give: Config{TLSCertFile: cert}, wantErr: "both"},
		{name: "client CA without TLS", give: Config{TLSClientCAFile: cert}, wantErr: "client CA"},
		{name: "client CA that is no PEM", give: Config{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: "/dev/null"}, wantErr: "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tlsConfig(tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tt.wantTLS || (got != nil && got.ClientAuth != tt.wantClientAuth) {
				t.Fatalf("tls config = %+v, want TLS %v client auth %v", got, tt.wantTLS, tt.wantClientAuth)
			}
		})
	}
}

// With TLS the URLs are https, and a client without a certificate is
// refused when client certificates are required.
func TestTLSServer(t *testing.T) {
	cert, key := writeCert(t)
	s, _ := newServer(t, Config{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: cert})
	go s.Serve()
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL = %s, want https", s.URL())
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	addr := strings.TrimSuffix(strings.TrimPrefix(s.URL(), "https://"), "/")
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err == nil {
		// TLS 1.3 reports the missing client certificate on first read.
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
}
