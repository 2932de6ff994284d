/*
Package legacy reads, and never writes, the sandbox checkpoints that
cri-dockerd and the kubelet's dockershim left on a node, so that a node
moved from one of them keeps the host ports and host network of its pods.

# Where

cri-dockerd keeps one file per sandbox at <root>/sandbox/<sandbox id>, root
being /var/lib/cri-dockerd unless --root-directory says otherwise; dockershim
(Kubernetes ≤ 1.23) kept them at /var/lib/dockershim/sandbox/<sandbox id>.
The sandbox id is the 64-hex id of the pause container.

# What

Each file is the JSON of

	{"version":"v1","name":…,"namespace":…,
	 "data":{"port_mappings":[{"protocol":"tcp","container_port":80,
	         "host_port":8080,"host_ip":"…"}],"host_network":true},
	 "checksum":…}

Every field of data is omitted when empty, and so are the three fields of a
mapping that the writers hold as pointers when the pointer is nil.

# The checksum

Both writers store fnv32a, widened to uint64, of the text that go-spew prints
for the data object with "%#v" and the config {Indent: " ", SortKeys: true,
DisableMethods: true, SpewKeys: true}. That text is a Go dump: it includes
every field, empty or not, and every type name as reflect prints it, that is
the name of the declaring package and the type: "core.CheckpointData",
"[]*config.PortMapping", "*config.Protocol" for cri-dockerd, and
"dockershim.CheckpointData", "[]*dockershim.PortMapping",
"*dockershim.Protocol" for dockershim. Reproducing the checksum from the JSON
alone is thus impossible; this package decodes data into copies of both
writers' types, declared in internal packages named core, config and
dockershim, and lets go-spew print them. Whichever checksum matches tells
who wrote the file. Those package names, field orders, tags and pointers
are part of the format: do not rename or reorder them.

Only data is covered. The version, the pod's name and namespace are outside
the checksum in both writers, so a changed name still verifies: callers
must not treat them as authenticated.

Dockershim before Kubernetes 1.14 had no host_ip in a mapping, and before
1.10 hashed the whole checkpoint with adler32; the kubelets that followed
found such files corrupt and removed them, so none should be left; none
verify here.
*/
package legacy
