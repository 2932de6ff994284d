// Package translate holds the pure functions that turn CRI messages into
// Docker Engine API values and back, and owns every such conversion: pod and
// container configs, the naming and label scheme, states and statuses
// (SandboxStatus, ContainerStatusFromInspect, ContainerStats), resources,
// security, mounts, image references and records, auth configs, mirrors,
// filters. Nothing here performs I/O, talks gRPC or calls Docker (I/O a
// conversion needs comes in as a function in its options), so every
// function is table-tested field by field and fuzzed.
//
// It may import cri-api, Docker's API types and small pure libraries; never
// a Docker client, gRPC, net/http, os/exec, package shim or package
// streaming.
package translate
