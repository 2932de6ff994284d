package translate

import "errors"

// Sentinels wrapped (with %w) by every translate error, so the shim maps
// them to gRPC codes at its boundary without reading messages.
var (
	// ErrInvalidConfig: the CRI message is malformed or out of range
	// (InvalidArgument).
	ErrInvalidConfig = errors.New("invalid config")
	// ErrUnsupported: the CRI message is valid but asks for something Docker
	// cannot express (InvalidArgument, with a message saying what and why).
	ErrUnsupported = errors.New("not supported by Docker")
)
