package legacy

import (
	"hash/fnv"

	"github.com/davecgh/go-spew/spew"
)

// printer is the go-spew configuration that both writers hashed with
// (cri-dockerd's store.deepHashObject, the kubelet's hashutil.DeepHashObject
// up to 1.23). Any other setting prints, and so hashes, other text.
var printer = spew.ConfigState{
	Indent:         " ",
	SortKeys:       true,
	DisableMethods: true,
	SpewKeys:       true,
}

// checksum is the checksum both writers stored for data, which must be the
// data struct itself, not a pointer to it: they passed *cp.Data, and a
// pointer prints as another type.
func checksum(data any) uint64 {
	h := fnv.New32a()
	printer.Fprintf(h, "%#v", data)
	return uint64(h.Sum32())
}
