# glmfit: `make demo` and `make test` work on a fresh Debian machine with Swift;
# both install the system libraries they need first (apt-get, as root or via sudo).

SWIFT      ?= swift
PREFIX     ?= /usr/local
DEB_PKGS   := liblapack-dev libblas-dev libopenblas0-pthread r-mathlib libfast-float-dev libicu-dev pkg-config librsvg2-bin
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN        := .build/release/glmfit
# The Swift runtime and Foundation linked into the executable: the dynamic loader's symbol
# lookups were half of a small fit's 27 ms (now about 13 ms).
RELEASE    := -c release --product glmfit --static-swift-stdlib

.PHONY: all deps build debug test demo bench install clean

all: build

# Install only what is missing, so a second run costs nothing and needs no network.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(RELEASE)

debug: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build $(RELEASE)
	GLMFIT_BIN=$(CURDIR)/$(BIN) $(SWIFT) test

demo: build
	@echo '$$ glmfit Examples/dobson.csv --family poisson --formula "counts ~ outcome + treatment"'
	@$(BIN) Examples/dobson.csv --family poisson --formula "counts ~ outcome + treatment"

bench: build
	bash Benchmarks/bench.sh

install: build
	install -d $(PREFIX)/bin
	install -m 755 $(BIN) $(PREFIX)/bin/glmfit

clean:
	rm -rf .build
