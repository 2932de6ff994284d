package translate

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RegistryAuth turns CRI credentials into the X-Registry-Auth value Docker's
// pull takes. Username/password, the combined base64 "auth" field (as in a
// docker config.json), an identity token and a registry token are all
// carried. No credentials yield "". Errors never contain the secret.
func RegistryAuth(a *runtimeapi.AuthConfig) (string, error) {
	if a == nil {
		return "", nil
	}
	cfg := registry.AuthConfig{
		Username:      a.GetUsername(),
		Password:      a.GetPassword(),
		ServerAddress: a.GetServerAddress(),
		IdentityToken: a.GetIdentityToken(),
		RegistryToken: a.GetRegistryToken(),
	}
	if a.GetAuth() != "" && cfg.Username == "" && cfg.Password == "" {
		user, pass, err := decodeBasicAuth(a.GetAuth())
		if err != nil {
			return "", err
		}
		cfg.Username, cfg.Password = user, pass
	}
	if cfg == (registry.AuthConfig{ServerAddress: cfg.ServerAddress}) {
		return "", nil
	}
	return authconfig.Encode(cfg)
}

func decodeBasicAuth(s string) (user, pass string, err error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", "", fmt.Errorf("auth field is not valid base64: %w", ErrInvalidAuth)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", fmt.Errorf("auth field is not \"user:password\": %w", ErrInvalidAuth)
	}
	return user, pass, nil
}
