package main

import (
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"dockercri/shim"
	"dockercri/shim/cni"
	"dockercri/shim/metrics"
	"dockercri/streaming"
)

// node is everything the daemon runs, built from the options; close releases
// what was opened, in reverse order, whether serving started or not.
type node struct {
	svc     *shim.Service
	stream  *streaming.Server
	metrics *metrics.Server // nil without --metrics-bind-addr
	closers []func()
}

func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
}

// newNode opens the Docker client, the metrics and streaming servers and the
// pod network, and builds the CRI service on them. On error, what it opened
// is closed.
func newNode(o *options) (_ *node, retErr error) {
	n := &node{}
	defer func() {
		if retErr != nil {
			n.close()
		}
	}()
	if err := os.MkdirAll(o.rootDir, 0o700); err != nil {
		return nil, fmt.Errorf("root directory: %w", err)
	}
	host, err := shim.ProbeHost(o.restrictOOM)
	if err != nil {
		return nil, err
	}
	if host.Capabilities != nil {
		klog.InfoS("Host lacks capabilities Docker's privileged mode asks for; privileged containers get the host's set", "capabilities", len(host.Capabilities))
	}
	if host.MinOOMScoreAdj != nil {
		klog.InfoS("OOM scores are restricted", "minimum", *host.MinOOMScoreAdj)
	}
	dockerClient, err := shim.NewDockerClient(o.dockerEndpoint)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() { dockerClient.Close() })
	var m *metrics.Metrics
	if o.metricsAddr != "" {
		m = metrics.New()
		if n.metrics, err = metrics.Listen(o.metricsAddr, m, o.profiling); err != nil {
			return nil, err
		}
		n.closers = append(n.closers, func() { n.metrics.Close() })
	}
	docker := shim.WithDockerMetrics(dockerClient, m)
	n.stream, err = streaming.New(streaming.Config{
		Addr: o.streamAddr, TLSCertFile: o.streamCert, TLSKeyFile: o.streamKey, TLSClientCAFile: o.streamCA,
	}, shim.NewStreamingRuntime(docker))
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() { n.stream.Close() })
	var network shim.PodNetwork
	if o.networkPlugin == "cni" {
		nw, err := cni.New(cni.Config{BinDirs: o.cniBinDirs, ConfDir: o.cniConfDir, CacheDir: o.cniCacheDir, Timeout: o.requestTimeout, Default: o.cniDefault})
		if err != nil {
			return nil, err
		}
		nw.Warning() // logs, at start, a config that will drop pod traffic
		network = nw
	}
	n.svc, err = shim.New(docker, shim.Config{
		RootDirectory:             o.rootDir,
		PodInfraImage:             o.pauseImage,
		ImagePullProgressDeadline: o.pullDeadline,
		RuntimeRequestTimeout:     o.requestTimeout,
		NetworkMode:               o.networkMode,
		Host:                      host,
		Streaming:                 n.stream,
		Network:                   network,
		Mirrors:                   o.mirrors,
		Metrics:                   m,
		ListCacheMaxAge:           o.listCacheMaxAge,
		AdoptCheckpointsFrom:      o.adoptFrom,
	})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.svc.Close)
	return n, nil
}
