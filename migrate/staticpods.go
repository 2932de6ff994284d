package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// StaticPodImages returns the images the pod manifests in dir name, as the
// kubelet reads them: every file but dotfiles, YAML or JSON. A missing
// directory holds none.
func StaticPodImages(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("static pods: %w", err)
	}
	set := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("static pods: %w", err)
		}
		for _, img := range ManifestImages(data) {
			set[img] = true
		}
	}
	return sortedKeys(set), nil
}

// yamlImage matches an `image:` field of a YAML manifest, in a list item
// ("- image: x") or not. A full YAML parser is not worth a dependency for
// one scalar field; anchors and multi-line scalars are not supported.
var yamlImage = regexp.MustCompile(`^\s*(?:-\s+)?image:\s*(\S.*?)\s*$`)

// ManifestImages returns the image fields of one pod manifest.
func ManifestImages(data []byte) []string {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var v any
		if json.Unmarshal(data, &v) == nil {
			var out []string
			jsonImages(v, &out)
			sort.Strings(out)
			return out
		}
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		m := yamlImage.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		img := m[1]
		if i := strings.Index(img, " #"); i >= 0 {
			img = strings.TrimSpace(img[:i])
		}
		img = strings.Trim(img, `"'`)
		if img != "" {
			out = append(out, img)
		}
	}
	return out
}

func jsonImages(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "image" {
				*out = append(*out, s)
				continue
			}
			jsonImages(x, out)
		}
	case []any:
		for _, x := range v {
			jsonImages(x, out)
		}
	}
}
