// Package translate holds the pure functions that turn CRI messages into
// Docker Engine API values and back: image references, image records, auth
// configs, filters. Nothing here performs I/O, talks gRPC or calls Docker, so
// every function is table-tested field by field.
package translate
