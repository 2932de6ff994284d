package translate

import (
	"fmt"
	"testing"

	"github.com/moby/moby/api/types/image"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// BenchmarkListImagesTranslate measures the per-call cost of ListImages'
// translation on a node with 200 images: conversion plus a repository filter.
func BenchmarkListImagesTranslate(b *testing.B) {
	list := make([]image.Summary, 200)
	for i := range list {
		list[i] = image.Summary{
			ID:          fmt.Sprintf("sha256:%064x", i),
			RepoTags:    []string{fmt.Sprintf("registry.example/team/app%d:v%d", i, i), fmt.Sprintf("app%d:latest", i)},
			RepoDigests: []string{fmt.Sprintf("registry.example/team/app%d@sha256:%064x", i, i)},
			Size:        int64(i) << 20,
		}
	}
	filter := NewImageFilter(&runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: "registry.example/team/app7"}})
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, s := range list {
			if filter.Match(ImageFromSummary(s, nil)) {
				n++
			}
		}
		if n != 1 {
			b.Fatalf("matched %d images, want 1", n)
		}
	}
}

func BenchmarkPullReference(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PullReference("registry.k8s.io/e2e-test-images/busybox:1.29-2"); err != nil {
			b.Fatal(err)
		}
	}
}
