package translate

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestRegistryAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		give *runtimeapi.AuthConfig
		want registry.AuthConfig // zero: no header
	}{
		{name: "nil", give: nil},
		{name: "empty", give: &runtimeapi.AuthConfig{}},
		{name: "server address only", give: &runtimeapi.AuthConfig{ServerAddress: "r.example"}},
		{
			name: "username and password",
			give: &runtimeapi.AuthConfig{Username: "u", Password: "p", ServerAddress: "127.0.0.1:5001"},
			want: registry.AuthConfig{Username: "u", Password: "p", ServerAddress: "127.0.0.1:5001"},
		},
		{
			name: "combined auth field",
			give: &runtimeapi.AuthConfig{Auth: b64("u:p:with:colons")},
			want: registry.AuthConfig{Username: "u", Password: "p:with:colons"},
		},
		{
			name: "identity token",
			give: &runtimeapi.AuthConfig{IdentityToken: "idt"},
			want: registry.AuthConfig{IdentityToken: "idt"},
		},
		{
			name: "registry token",
			give: &runtimeapi.AuthConfig{RegistryToken: "rt"},
			want: registry.AuthConfig{RegistryToken: "rt"},
		},
		{
			name: "explicit username wins over auth field",
			give: &runtimeapi.AuthConfig{Username: "a", Password: "b", Auth: b64("c:d")},
			want: registry.AuthConfig{Username: "a", Password: "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RegistryAuth(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == (registry.AuthConfig{}) {
				if got != "" {
					t.Fatalf("RegistryAuth = %q, want no header", got)
				}
				return
			}
			dec, err := authconfig.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if *dec != tt.want {
				t.Fatalf("decoded %+v, want %+v", *dec, tt.want)
			}
		})
	}
}

func TestRegistryAuthErrorsHideSecrets(t *testing.T) {
	for _, give := range []string{"!!!not-base64-secret", base64.StdEncoding.EncodeToString([]byte("nocolonsecret"))} {
		_, err := RegistryAuth(&runtimeapi.AuthConfig{Auth: give})
		if !errors.Is(err, ErrInvalidAuth) {
			t.Fatalf("RegistryAuth(%q) error = %v, want ErrInvalidAuth", give, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), give) {
			t.Fatalf("error %q leaks the credential", err)
		}
	}
}
