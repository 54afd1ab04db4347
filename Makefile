# The two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/shop
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/shopengine/shop/internal/buildinfo.version=$(VERSION)

.PHONY: build run test bench lint

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/shop

run:
	$(GO) run ./cmd/shop serve

# Tests need RabbitMQ on 127.0.0.1:5672 (SHOP_TEST_AMQP_URL overrides);
# without it they skip loudly, and with CI=true they fail.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	mkdir -p bench-results

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
