package shim

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The layout's import rules (README, Architecture), checked on the source:
// translate is pure, streaming and the engines never reach back into shim,
// and nothing in the product imports the e2e module.
func TestPackageBoundaries(t *testing.T) {
	tests := []struct {
		dir    string
		forbid []string
	}{
		{dir: "../translate", forbid: []string{"dockercri/shim", "dockercri/streaming", "github.com/moby/moby/client",
			"google.golang.org/grpc", "net/http", "os/exec"}},
		{dir: "../streaming", forbid: []string{"dockercri/shim"}},
		{dir: "cgroups", forbid: []string{"dockercri/shim"}},
		{dir: "cni", forbid: []string{"dockercri/shim"}},
		{dir: "crilog", forbid: []string{"dockercri/shim"}},
		{dir: "events", forbid: []string{"dockercri/shim"}},
		{dir: "metrics", forbid: []string{"dockercri/shim"}},
		{dir: ".", forbid: []string{"dockercri/e2e", "dockercri/cmd"}},
		{dir: "../cmd/dockercri", forbid: []string{"dockercri/e2e"}},
		// cribench is a client: CRI, Docker and the pure translation, never
		// the shim it measures.
		{dir: "../bench", forbid: []string{"dockercri/shim", "dockercri/streaming", "dockercri/e2e"}},
		{dir: "../bench/report", forbid: []string{"dockercri/shim", "dockercri/streaming", "dockercri/e2e", "google.golang.org/grpc"}},
		{dir: "../cmd/cribench", forbid: []string{"dockercri/shim", "dockercri/streaming", "dockercri/e2e"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(tt.dir, "*.go"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no Go files in %s: %v", tt.dir, err)
			}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
				if err != nil {
					t.Fatal(err)
				}
				for _, imp := range ast.Imports {
					path, _ := strconv.Unquote(imp.Path.Value)
					for _, bad := range tt.forbid {
						if path == bad || strings.HasPrefix(path, bad+"/") {
							t.Errorf("%s imports %s", f, path)
						}
					}
				}
			}
		})
	}
}
