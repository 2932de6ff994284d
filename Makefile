# dockercri — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := build

VERSION        ?= 0.1.0-dev
COMMIT         ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
ENDPOINT       ?= unix:///run/dockercri.sock
DOCKER_ENDPOINT ?= unix:///var/run/docker.sock
ROOT_DIRECTORY ?= /var/lib/dockercri
PAUSE_IMAGE    ?= registry.k8s.io/pause:3.10
RUN_FLAGS      ?= -v 2
GO             ?= go
GOFLAGS_BUILD  := -trimpath -ldflags "-X main.version=$(VERSION) -X main.buildCommit=$(COMMIT)"

.PHONY: build build-race run cni-plugins test shellcheck unit fuzz e2e e2e-tools e2e-instance engine e2e-up e2e-down vet fmt-check bench bench-e2e clean docker-up critest critest-images critest-benchmark critest-containerd critest-containerd-benchmark node-conformance node-conformance-containerd bench-node bench-smoke

# fuzz runs each target for FUZZTIME, one after another (-fuzz takes one
# target at a time): 7 targets × 30 s by default.
FUZZTIME       ?= 30s
FUZZ_TARGETS   := FuzzSandboxConfig FuzzContainerConfig FuzzNames FuzzLabels FuzzImageReference FuzzMirror FuzzListFilters
# RACE_BIN is dockercri built with the race detector, for e2e's TestRace*.
RACE_BIN       := bin/dockercri-race

build: ## build bin/dockercri and bin/cribench
	$(GO) build $(GOFLAGS_BUILD) -o bin/dockercri ./cmd/dockercri
	$(GO) build $(GOFLAGS_BUILD) -o bin/cribench ./cmd/cribench
	$(GO) build $(GOFLAGS_BUILD) -o bin/dockercri-migrate ./cmd/dockercri-migrate

build-race: ## build bin/dockercri-race (the race detector on; for the e2e race test)
	$(GO) build -race $(GOFLAGS_BUILD) -o $(RACE_BIN) ./cmd/dockercri

# POD_CIDRS is the default pod network's address range (IPv4[,IPv6]):
# dockercri writes it to /etc/cni/net.d/99-dockercri-default.conflist while
# that directory holds no other config (an operator's own always wins).
POD_CIDRS      ?= 10.88.0.0/16

run: build docker-up cni-plugins ## start dockercri against the host's Docker, with a default pod network
	./bin/dockercri --container-runtime-endpoint $(ENDPOINT) --docker-endpoint $(DOCKER_ENDPOINT) \
		--root-directory $(ROOT_DIRECTORY) --pod-infra-container-image $(PAUSE_IMAGE) \
		--cni-bin-dir /opt/cni/bin,/usr/lib/cni --cni-default-network $(POD_CIDRS) $(RUN_FLAGS)

# cni-plugins installs Debian's standard CNI plugins (in /usr/lib/cni) unless
# bridge, portmap and firewall are there already.
cni-plugins:
	@for p in bridge portmap firewall host-local loopback; do \
		[ -x /opt/cni/bin/$$p ] || [ -x /usr/lib/cni/$$p ] || missing=1; \
	done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containernetworking-plugins; fi

# docker-up installs Docker Engine from Debian if it is missing and starts it
# if it does not answer (through systemd where there is one).
docker-up:
	@command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io; }
	@if ! docker -H $(DOCKER_ENDPOINT) version >/dev/null 2>&1; then \
		if [ -d /run/systemd/system ]; then systemctl start docker; \
		else echo "starting dockerd (log: /var/log/dockerd.log)"; nohup dockerd >/var/log/dockerd.log 2>&1 & fi; \
		for i in $$(seq 1 60); do docker -H $(DOCKER_ENDPOINT) version >/dev/null 2>&1 && break; sleep 0.5; done; \
	fi
	@docker -H $(DOCKER_ENDPOINT) version --format 'Docker {{.Server.Version}} (API {{.Server.APIVersion}})'

test: fmt-check vet shellcheck unit fuzz e2e bench-smoke ## everything CI runs

fmt-check:
	@out=$$(gofmt -l cmd shim translate streaming bench migrate e2e); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

shellcheck: ## lint the e2e environment's scripts (installs Debian's shellcheck if missing)
	@command -v shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck; }
	shellcheck e2e/env/*.sh

vet:
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz: ## run each translate fuzz target for FUZZTIME (crashers land in translate/testdata/fuzz/)
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./translate/; \
	done

# The e2e suite (end-to-end tests, critest, the kubelet) runs on each engine
# and image store (e2e/env/lib.sh): Debian's Docker 20.10, and Docker 29
# built from Go modules (e2e/env/engine.sh) with its default containerd image
# store and with the classic overlay2 store. One instance runs at a time; a
# failure on one still lets the others run, and fails the target.
E2E_INSTANCES  ?= debian current-containerd current-overlay2
# E2E_RUN_<instance> narrows the suite on that instance (go test -run); empty runs it all.
E2E_RUN_debian ?=
E2E_RUN_current-containerd ?=
E2E_RUN_current-overlay2 ?=
# E2E_SKIP_<instance> leaves tests out there (go test -skip). The takeover
# (TestTakeover, 2 minutes of a kubelet watching adopted pods) runs on
# Debian's Docker only, to keep `make test` inside CI's time; it passes on
# both Docker 29 instances too (E2E_SKIP_current-containerd= to run it).
E2E_SKIP_debian ?=
E2E_SKIP_current-containerd ?= ^TestTakeover$$
E2E_SKIP_current-overlay2 ?= ^TestTakeover$$
# E2E_ENV_<instance> is the environment of that instance's suite. The
# 1,000-cycle CNI churn test (about 8 minutes; issue 17's churn goal) runs in
# full on Debian's Docker; on Docker 29 200 cycles, still three times what
# its /26 holds, so a leaked address still fails it.
E2E_ENV_debian ?=
E2E_ENV_current-containerd ?= DOCKERCRI_E2E_CNI_CYCLES=200
E2E_ENV_current-overlay2 ?= DOCKERCRI_E2E_CNI_CYCLES=200
# NODE_SUBSET_INSTANCES run the node conformance suite's fixed subset
# (e2e/node-conformance-subset.txt) after the e2e suite; `make
# node-conformance` runs the whole suite.
NODE_SUBSET_INSTANCES ?= debian
NODE_SUBSET_PROCS ?= 4
instance_env = DOCKER_ENGINE=$(firstword $(subst -, ,$(1))) DOCKER_STORE=$(or $(word 2,$(subst -, ,$(1))),overlay2)

e2e: build build-race e2e-tools
	@rc=0; for i in $(E2E_INSTANCES); do \
		$(MAKE) --no-print-directory e2e-instance INSTANCE=$$i || { echo "e2e on $$i: FAILED"; rc=1; }; \
	done; exit $$rc

e2e-tools:
	bash e2e/env/tools.sh
	bash e2e/env/kubelet.sh
	bash e2e/env/node-e2e.sh

# e2e-instance INSTANCE=debian|current-containerd|current-overlay2: the suite on one instance.
e2e-instance:
	@echo "== e2e on $(INSTANCE)"
	$(call instance_env,$(INSTANCE)) bash e2e/env/up.sh
	$(call instance_env,$(INSTANCE)) bash e2e/env/critest-images.sh
	cd e2e && $(E2E_ENV_$(INSTANCE)) DOCKERCRI_BIN=$(CURDIR)/bin/dockercri DOCKERCRI_RACE_BIN=$(CURDIR)/$(RACE_BIN) DOCKERCRI_CRITEST=1 \
		$(GO) test -count=1 -timeout 45m $(if $(E2E_RUN_$(INSTANCE)),-run '$(E2E_RUN_$(INSTANCE))') $(if $(E2E_SKIP_$(INSTANCE)),-skip '$(E2E_SKIP_$(INSTANCE))') ./...
	$(if $(filter $(INSTANCE),$(NODE_SUBSET_INSTANCES)),$(call instance_env,$(INSTANCE)) NODE_SUBSET=1 NODE_PROCS=$(NODE_SUBSET_PROCS) bash e2e/env/node-conformance.sh dockercri)

engine: ## build Docker 29 (dockerd, containerd, runc) from Go modules for the e2e (cached by version)
	bash e2e/env/engine.sh

e2e-up: ## start the private e2e environment (dockerd, registries, images); DOCKER_ENGINE=current [DOCKER_STORE=overlay2] for Docker 29
	bash e2e/env/up.sh

e2e-down: ## stop it, every instance (add PURGE=1 to delete its data)
	bash e2e/env/down.sh $(if $(PURGE),--purge)

critest-images: e2e-up ## build critest's and the node suite's images offline and push them to the local registry's mirror paths
	bash e2e/env/node-e2e.sh
	bash e2e/env/critest-images.sh

critest: build critest-images ## cri-tools' CRI validation suite against dockercri (reports in e2e/reports/)
	bash e2e/env/tools.sh
	cd e2e && DOCKERCRI_BIN=$(CURDIR)/bin/dockercri DOCKERCRI_CRITEST=1 $(GO) test -count=1 -timeout 60m -run '^TestCritest$$' -v .

critest-benchmark: build critest-images ## `critest -benchmark` (e2e/critest-benchmark.yaml; JSON in e2e/reports/critest-benchmark/)
	bash e2e/env/tools.sh
	cd e2e && DOCKERCRI_BIN=$(CURDIR)/bin/dockercri DOCKERCRI_CRITEST_BENCHMARK=1 $(GO) test -count=1 -timeout 60m -run '^TestCritestBenchmark$$' -v .

critest-containerd: critest-images ## the same critest against Debian's containerd CRI plugin, for comparison (e2e/reports/containerd-critest.*)
	bash e2e/env/tools.sh
	bash e2e/env/critest-containerd.sh

critest-containerd-benchmark: critest-images ## `critest -benchmark` against Debian's containerd, same settings (e2e/reports/containerd-critest-benchmark/)
	bash e2e/env/tools.sh
	bash e2e/env/critest-containerd.sh benchmark

# Kubernetes' node conformance suite ([NodeConformance] of test/e2e_node
# v1.36.3, e2e/env/node-conformance.sh): the kubelet takes its pods from the
# suite's API server. NODE_PROCS parallel processes; skips in
# e2e/node-conformance-skip.txt; reports in e2e/reports/node-conformance/.
NODE_PROCS     ?= 8
node-conformance: build critest-images ## the whole node conformance suite against dockercri (DOCKER_ENGINE/DOCKER_STORE pick the Docker)
	bash e2e/env/tools.sh
	bash e2e/env/kubelet.sh
	NODE_PROCS=$(NODE_PROCS) bash e2e/env/node-conformance.sh dockercri

node-conformance-containerd: critest-images ## the same suite against containerd's CRI (CC_ENGINE=current: containerd 2.x)
	bash e2e/env/tools.sh
	bash e2e/env/kubelet.sh
	$(if $(filter current,$(CC_ENGINE)),bash e2e/env/engine.sh)
	NODE_PROCS=$(NODE_PROCS) bash e2e/env/node-conformance.sh containerd

bench: ## Go benchmarks of the translate hot paths
	$(GO) test -run '^$$' -bench . -benchmem ./translate/

bench-e2e: build e2e-up ## the e2e benchmarks against the private dockerd (110 pods)
	bash e2e/env/tools.sh
	cd e2e && DOCKERCRI_BIN=$(CURDIR)/bin/dockercri $(GO) test -count=1 -run '^$$' -bench 'List110Pods' -benchtime 20x -timeout 30m ./...
	cd e2e && DOCKERCRI_BIN=$(CURDIR)/bin/dockercri $(GO) test -count=1 -run '^$$' -bench 'KubeletLoop110Pods' -benchtime 1x -timeout 30m ./...

# The node benchmark (cribench compare, e2e/env/bench-node.sh): dockercri on
# the e2e's Docker (DOCKER_ENGINE/DOCKER_STORE) against containerd's CRI
# (CC_ENGINE=current: containerd 2.x), with the Docker-direct floor, through
# the e2e's kubelet; BENCH_PODS, BENCH_REPEATS, BENCH_STEADY, BENCH_ARGS.
# Report and charts in e2e/reports/cribench/<instance>/.
bench-node: build critest-images ## the 105-pod node benchmark: dockercri vs containerd (and the Docker floor), report and charts
	bash e2e/env/tools.sh
	bash e2e/env/kubelet.sh
	$(if $(filter current,$(CC_ENGINE)),bash e2e/env/engine.sh)
	bash e2e/env/bench-node.sh

# bench-smoke: the benchmark's short mode (20 pods, a 1-minute steady
# state), checking the report is produced and well-formed, not its figures.
bench-smoke: build critest-images
	bash e2e/env/tools.sh
	bash e2e/env/kubelet.sh
	BENCH_SMOKE=1 bash e2e/env/bench-node.sh

clean:
	rm -rf bin e2e/bin
