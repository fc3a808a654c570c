# ledgersim: the two commands that matter are `make run` and `make test`.
GO ?= go
PKGS := ./...

.PHONY: run build test tidy-check bench lint fmt compare crash reliability

## run: start the server with its embedded defaults (data in ./data, HTTP :8080, ISO 8583 :8583)
run:
	$(GO) run ./cmd/ledgersim serve

## build: build the binary into ./bin/ledgersim
build:
	$(GO) build -o bin/ledgersim ./cmd/ledgersim

## test: go.mod/go.sum tidy, vet, every test with the race detector, then the allocation tests (which skip under -race) without it
test: tidy-check
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)
	$(GO) test -count=1 -run 'Alloc' ./vault/ ./matcher/

## tidy-check: fail when `go mod tidy` would change go.mod or go.sum
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'" >&2; exit 1; }

## bench: run the Go benchmarks (figures go to BENCHMARKS.md)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## compare: ledgersim side by side with a moov-io host (rules in a Go map, no durability) and PostgreSQL (never in CI); a few minutes
compare:
	GO=$(GO) ./scripts/compare.sh $(COMPARE_ARGS)

## crash: the crash loop, 20 SIGKILLs under load (CRASH_ROUNDS, CRASH_SEED, CRASH_RATE, CRASH_ROUND; docs/reliability.md)
crash:
	CRASH_ROUNDS=$${CRASH_ROUNDS:-20} $(GO) test -count=1 -timeout=60m -run '^TestCrashLoop$$' -v ./cmd/ledgersim

## reliability: the long forms (20 crashes, 10,000 simulation seeds, 10 minutes of fuzzing per target); rewrites the figures in docs/reliability.md
reliability:
	GO=$(GO) ./scripts/reliability.sh

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')
