# crmphone — see README.md.
GO       ?= go
BIN      := bin/crmphone
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
CONFIG   ?= $(wildcard crmphone.yaml)
export CGO_ENABLED := 0

.PHONY: run build test test-short lint bench cross clean

## run: build and serve with the embedded defaults (or ./crmphone.yaml if present)
run: build
	./$(BIN) serve $(if $(CONFIG),-config $(CONFIG))

## build: the static crmphone binary
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/crmphone

## test: every test, with the race detector (race needs cgo)
test:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 12m ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: the benchmarks named in the issues (token verify, ARI event decode, RTP relay)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./tokens/... ./ari/... ./webrtc/...

## cross: static binaries for Linux, macOS and Windows
cross:
	GOOS=linux   GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/crmphone-linux-amd64 ./cmd/crmphone
	GOOS=linux   GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/crmphone-linux-arm64 ./cmd/crmphone
	GOOS=darwin  GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/crmphone-darwin-arm64 ./cmd/crmphone
	GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/crmphone-windows-amd64.exe ./cmd/crmphone

clean:
	rm -rf bin
