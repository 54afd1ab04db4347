# The two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/shop
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/shopengine/shop/internal/buildinfo.version=$(VERSION)

BENCH_ROUNDS ?= 5

.PHONY: build run test e2e bench bench-bus bench-modules lint image fuzz

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/shop

# The container image (Dockerfile): a static binary built here and copied
# into a FROM scratch image with CA roots, a non-root user and /data.
IMAGE ?= shop:latest
IMAGE_CONTEXT := bin/image

image:
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)/data
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(IMAGE_CONTEXT)/shop ./cmd/shop
	cp /etc/ssl/certs/ca-certificates.crt $(IMAGE_CONTEXT)/
	printf 'root:x:0:0:root:/:/sbin/nologin\nshop:x:65532:65532:shop:/data:/sbin/nologin\n' > $(IMAGE_CONTEXT)/passwd
	printf 'root:x:0:\nshop:x:65532:\n' > $(IMAGE_CONTEXT)/group
	docker build -f Dockerfile -t $(IMAGE) $(IMAGE_CONTEXT)
	@docker image inspect -f '{{.Size}}' $(IMAGE) | awk '{ printf "image $(IMAGE): %.1f MB\n", $$1/1e6 }'

# On an empty ./shop-data it first seeds a sample shop and prints a demo
# login (serve --demo); plain `shop serve` never seeds.
run:
	$(GO) run ./cmd/shop serve --demo

# Tests need RabbitMQ on 127.0.0.1:5672 (SHOP_TEST_AMQP_URL overrides);
# without it they skip loudly, and with CI=true they fail.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# The production shape on this machine (cmd/shop/e2e_test.go): every
# module its own `shop serve --only=<module>` process over RabbitMQ,
# seeded with `shop seed` through the bus, walked in Chromium with
# JavaScript on and off, listed by `shop ping`; then seo, filter and cart
# stopped and started one at a time while the pages degrade and recover.
E2E_TESTS := TestTenServicesEndToEnd|TestModuleDownInSplitDeployment

e2e:
	$(GO) test -count=1 -timeout 30m -v -run '^($(E2E_TESTS))$$' ./cmd/shop/

# Every benchmark compares against a baseline measured in the same run;
# results land in bench-results/.
bench: bench-bus bench-modules

# The buses against bare floors (Go channels; bare amqp091-go direct
# reply-to), rounds alternating so load swings hit both alike; the ratio
# tool prints p50/p99/req/s ratios and the verdict against the targets.
bench-bus:
	@mkdir -p bench-results
	$(GO) test -c -o bench-results/busbench.test ./internal/bus/busbench
	$(GO) build -o bench-results/benchratio ./internal/bus/busbench/ratio
	for i in $$(seq $(BENCH_ROUNDS)); do \
	  BUSBENCH_BROKER_PID=$$(pgrep -o beam.smp 2>/dev/null) ./bench-results/busbench.test -test.run='^$$' -test.bench=RequestReply -test.benchtime=1s || echo "FAIL: round $$i"; \
	done | tee bench-results/bus.txt | ./bench-results/benchratio

# Module benchmarks: the category tree (5,000 categories, cold and warm),
# variant generation; and the process model: /healthz req/s at --workers=0
# against --workers=2, in the same run.
bench-modules:
	@mkdir -p bench-results
	$(GO) test -run='^$$' -bench=. -benchtime=2s ./internal/modules/category/ ./internal/modules/option/ | tee bench-results/modules.txt
	$(GO) test -run='^$$' -bench=Healthz -count=3 ./cmd/shop/ | tee bench-results/healthz.txt

# Fuzz targets, FUZZTIME each (outside CI; `make test` runs their seed
# corpora, including every crasher found and fixed, under testdata/fuzz).
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./internal/bus:FuzzDecodeStrict \
	./internal/bus/amqp:FuzzEnvelope \
	./internal/slugs:FuzzSlugs \
	./internal/modules/web:FuzzSearchQuery \
	./internal/modules/filter:FuzzSearch \
	./internal/modules/article:FuzzRender

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
