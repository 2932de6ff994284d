//go:build critest

// This file only keeps in go.mod and go.sum what `go test -c
// sigs.k8s.io/cri-tools/cmd/critest` (e2e/env/tools.sh) needs: that package
// has only test files, so no `tool` line can name it, and `go mod tidy` would
// otherwise drop the requirements of its tests. It is never built (the
// critest tag is never set).

package e2e

import (
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/gomega"
	_ "sigs.k8s.io/cri-tools/pkg/benchmark"
	_ "sigs.k8s.io/cri-tools/pkg/common"
	_ "sigs.k8s.io/cri-tools/pkg/framework"
	_ "sigs.k8s.io/cri-tools/pkg/validate"
	_ "sigs.k8s.io/cri-tools/pkg/version"
)
