# The Makefile is the index of what a developer can do: `make help` lists it.
SHELL := /bin/bash
GO    ?= go
PKGS  := ./...

# make run: a local shop with demo data and a demo admin.
SHOP_HTTP_ADDR ?= :8080
DEMO_ADMIN_EMAIL ?= admin@shop.local
DEMO_ADMIN_PASSWORD ?= admin-demo-password

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the shop on http://localhost:8080, migrated, with demo data
	SHOP_HTTP_ADDR=$(SHOP_HTTP_ADDR) \
	SHOP_BOOTSTRAP_ADMIN_EMAIL=$${SHOP_BOOTSTRAP_ADMIN_EMAIL:-$(DEMO_ADMIN_EMAIL)} \
	SHOP_BOOTSTRAP_ADMIN_PASSWORD=$${SHOP_BOOTSTRAP_ADMIN_PASSWORD:-$(DEMO_ADMIN_PASSWORD)} \
	$(GO) run ./cmd/shop serve --seed-demo

.PHONY: run-split
run-split: ## run the shop split, every module in its own process behind an edge on http://localhost:8080 (TOPOLOGY=catalog for catalog alone)
	$(GO) build -o bin/shop ./cmd/shop
	$(GO) build -o bin/split ./cmd/split
	SHOP_HTTP_ADDR=$(SHOP_HTTP_ADDR) \
	SHOP_BOOTSTRAP_ADMIN_EMAIL=$${SHOP_BOOTSTRAP_ADMIN_EMAIL:-$(DEMO_ADMIN_EMAIL)} \
	SHOP_BOOTSTRAP_ADMIN_PASSWORD=$${SHOP_BOOTSTRAP_ADMIN_PASSWORD:-$(DEMO_ADMIN_PASSWORD)} \
	bin/split -shop bin/shop -topology $(or $(TOPOLOGY),split)

.PHONY: build
build: ## build bin/shop
	$(GO) build -trimpath -o bin/shop ./cmd/shop

# make image: the container image, built with podman from the static binary the
# local Go builds (no base image is pulled); docker build . builds it from source.
IMAGE ?= localhost/shop:dev

.PHONY: image
image: ## build the container image $(IMAGE) with podman (static binary, FROM scratch, non-root)
	rm -rf bin/image
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=true -ldflags='-s -w' -o bin/image/shop ./cmd/shop
	.deploy/image/rootfs.sh bin/image
	podman build --target runtime-local -t $(IMAGE) .

.PHONY: image-check
image-check: image ## inspect the built image (user, entrypoint, ports, size) and run commands of the binary it holds
	.ci/image-check $(IMAGE)

# The operational tests (faults, a lost broker node, schema moves, traces,
# rolling restarts) append their counts to TEST_REPORT (SHOP_TEST_REPORT,
# platform/testreport): go test ./... shows nothing of a package that
# passes, so make test and make test-rollout print the file at the end.
TEST_REPORT := $(CURDIR)/bin/test-report.txt
test test-rollout: export SHOP_TEST_REPORT := $(TEST_REPORT)

# A failing test's message can sit thousands of lines above the end of
# go test's output (a shop's logs follow it): on failure, the failed tests and
# their messages are repeated last.
define failed-tests-summary
echo; echo "== failed tests (the whole output is in bin/test.log)"; \
grep -E '^\s*--- FAIL|^\s+[A-Za-z0-9_]+\.go:[0-9]+: |^panic: |^FAIL\s' bin/test.log | grep -vE '\.go:[0-9]+: \{' | tail -n 80
endef

define print-test-report
@echo; echo "== counts of the operational tests"; \
if [ -s $(TEST_REPORT) ]; then cat $(TEST_REPORT); else echo "(none reported)"; fi
endef

# What the tests run besides Go and PostgreSQL: HAProxy (the walkthrough's and
# the rolling restarts' load balancer) and Chromium (the browser tests; or
# SHOP_TEST_CHROMIUM). Missing ones are installed with apt-get when make runs
# as root on a machine that has it; otherwise it says what to install.
.PHONY: test-deps
test-deps: ## install what the tests run besides Go and PostgreSQL (HAProxy, Chromium) when missing
	@missing=; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	[ -n "$$SHOP_TEST_CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
		|| command -v google-chrome >/dev/null || missing="$$missing chromium"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "the tests need:$$missing (e.g. sudo apt-get install$$missing)" >&2; exit 1; \
	fi; \
	echo "== installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null

.PHONY: test
test: generate-check test-deps ## run every test (unit, PostgreSQL integration, architecture, end-to-end), then print the operational tests' counts
	@mkdir -p bin && rm -f $(TEST_REPORT)
	$(GO) vet $(PKGS)
	set -o pipefail; $(GO) test -race -count=1 -timeout 30m $(PKGS) 2>&1 | tee bin/test.log || { $(failed-tests-summary); exit 1; }
	$(MAKE) --no-print-directory test-e2e-catalog test-e2e-split
	$(print-test-report)

# The end-to-end tests that run on every topology: the shopping walks,
# checkout and its failures, authorization, and the crash test.
E2E_TESTS := ^(TestEndToEnd.*|TestCheckout(GoldenPath|FailurePaths|IdempotentRetry|StockRace)|TestAuthorizationMatrix|TestClientsCannotSetProtectedFields|TestCrashAtEveryPointLosesNothingAndDoublesNothing)$$

.PHONY: test-e2e-catalog
test-e2e-catalog: ## the end-to-end tests on catalog in a process of its own, the rest in a second (events over NATS); each shop first moves catalog to a database of its own (shop db move) and restarts catalog on it
	SHOP_E2E_TOPOLOGY=catalog $(GO) test -count=1 -timeout 30m -run '$(E2E_TESTS)' ./cmd/shop

.PHONY: test-e2e-split
test-e2e-split: ## the end-to-end tests on every module in a process of its own behind an edge (events over NATS)
	SHOP_E2E_TOPOLOGY=split $(GO) test -count=1 -timeout 30m -run '$(E2E_TESTS)' ./cmd/shop

# The rolling restarts behind HAProxy (build tag rollout, not part of
# go test ./...): three monolith replicas, and catalog's two replicas in
# the split, replaced one at a time under load; each prints its counts. They
# hold 81 and 59 test connections (SHOP_TEST_DB_CONNS; .ci/run sets 200).
.PHONY: test-rollout
test-rollout: test-deps ## rolling restarts behind HAProxy lose no request and double no checkout (monolith replicas, a split module's replicas); prints the counts
	@mkdir -p bin && rm -f $(TEST_REPORT)
	$(GO) test -tags rollout -count=1 -v -timeout 10m -run '^TestRollout' ./modules
	$(print-test-report)

.PHONY: test-short
test-short: ## unit tests only (no database)
	$(GO) test -short -count=1 $(PKGS)

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

.PHONY: lint-api
lint-api: build ## lint the OpenAPI document the built shop serves (Redocly, recommended rules; needs PostgreSQL and npx)
	.ci/lint-api bin/shop

.PHONY: generate
generate: ## regenerate wire_gen.go and every module's remote client and endpoints (<module>remote)
	$(GO) tool wire gen ./cmd/shop
	$(GO) run ./cmd/remotegen

.PHONY: generate-check
generate-check: ## fail when generated code (wire_gen.go, remote_gen.go) is stale
	@tmp=$$(mktemp -d); cp cmd/shop/wire_gen.go $$tmp/wire_gen.go; \
	$(GO) tool wire gen ./cmd/shop >/dev/null; \
	if ! diff -u $$tmp/wire_gen.go cmd/shop/wire_gen.go; then \
		cp $$tmp/wire_gen.go cmd/shop/wire_gen.go; echo "cmd/shop/wire_gen.go is stale: run make generate"; exit 1; fi
	@tmp=$$(mktemp -d); for f in modules/*/*remote/remote_gen.go; do mkdir -p $$tmp/$$(dirname $$f); cp $$f $$tmp/$$f; done; \
	$(GO) run ./cmd/remotegen; \
	stale=0; for f in modules/*/*remote/remote_gen.go; do \
		if [ ! -f $$tmp/$$f ]; then echo "$$f is new: run make generate"; stale=1; \
		elif ! diff -u $$tmp/$$f $$f; then cp $$tmp/$$f $$f; echo "$$f is stale: run make generate"; stale=1; fi; \
	done; exit $$stale

.PHONY: migrate
migrate: ## apply every module's migrations (make migrate ARGS="status")
	$(GO) run ./cmd/shop migrate $(or $(ARGS),up)

.PHONY: seed
seed: ## load demo data (make seed N=100000)
	$(GO) run ./cmd/shop seed --products $(or $(N),1000)

.PHONY: modules
modules: ## list modules and print the module graph as Mermaid
	$(GO) run ./cmd/shop modules

.PHONY: bench
bench: ## benchmarks, then one table of every goal (bin/bench-summary.md): full stack vs bare net/http+pgx, checkout (split vs monolith), the event pipeline vs watermill-sql, a remote call vs in process, start-up
	@mkdir -p bin; set -o pipefail; { \
	$(GO) test -run '^$$' -bench 'BenchmarkProductByID' -benchtime 3x -count 1 -timeout 20m ./cmd/shop && \
	$(GO) test -run '^$$' -bench 'BenchmarkCheckout$$' -benchtime 1x -count 1 -timeout 20m ./cmd/shop && \
	$(GO) test -run '^$$' -bench 'BenchmarkCheckoutTopologies' -benchtime 1x -count 1 -timeout 20m ./cmd/shop && \
	$(GO) test -run '^$$' -bench 'BenchmarkEventPipeline' -benchtime 1x -count 3 -timeout 30m ./platform/events && \
	$(GO) test -run '^$$' -bench 'Benchmark(Remote|InProcess)Call' -benchtime 5000x -count 1 ./platform/remote && \
	$(GO) test -run '^$$' -bench 'BenchmarkStartup' -benchtime 1x -count 1 -timeout 10m ./cmd/shop; \
	} 2>&1 | tee bin/bench.log
	@{ echo '| goal | want | measured | |'; echo '|---|---|---|---|'; \
	grep -ho 'goal | .*' bin/bench.log | sed 's/^goal //; s/$$/ |/' | \
	awk -F'|' '!($$2 in last) { order[++n] = $$2 } { last[$$2] = $$0 } END { for (i = 1; i <= n; i++) print last[order[i]] }'; \
	} | tee bin/bench-summary.md
	@echo "$$(grep -c '| met |' bin/bench-summary.md) goals met, $$(grep -c '| NOT met |' bin/bench-summary.md) not (bin/bench-summary.md)"

.PHONY: bench-scale
bench-scale: ## how cost grows with the data: reads, the sales rebuild and an event backlog at 10k, 100k and 1M products (SHOP_BENCH_SCALE_SIZES=10000,100000 for fewer)
	$(GO) test -run '^$$' -bench 'BenchmarkScale$$' -benchtime 1x -count 1 -timeout 90m ./cmd/shop

.PHONY: clean
clean: ## remove build output and the embedded PostgreSQL data
	rm -rf bin .shop
