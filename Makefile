# glmfit: `make demo` and `make test` work on a fresh Debian machine with Swift;
# both install the system libraries they need first (apt-get, as root or via sudo).

SWIFT      ?= swift
PREFIX     ?= /usr/local
DEB_PKGS   := liblapack-dev libblas-dev libopenblas0-pthread r-mathlib libfast-float-dev libicu-dev zlib1g-dev liblzma-dev libzstd-dev libbz2-dev libsuitesparse-dev pkg-config librsvg2-bin
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN        := .build/release/glmfit
# The Swift runtime and Foundation linked into the executable: the dynamic loader's symbol
# lookups were half of a small fit's 27 ms (now about 13 ms).
RELEASE    := -c release --product glmfit --static-swift-stdlib

.PHONY: all deps build native debug test demo bench install man clean

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

# The Swift code tuned for this machine's CPU (AVX2, FMA, ... as it has them), in .build-native;
# the default build runs on any x86-64. `make install BIN=.build-native/release/glmfit` installs it.
native: deps
	$(SWIFT) build $(RELEASE) --scratch-path .build-native -Xswiftc -Xcc -Xswiftc -march=native

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

# The executable, its manual page (Documentation/glmfit.1, committed: `make man` remakes it)
# and the shell completions, which the executable writes.
install: build
	install -d $(PREFIX)/bin $(PREFIX)/share/man/man1 $(PREFIX)/share/bash-completion/completions \
	  $(PREFIX)/share/zsh/site-functions $(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BIN) $(PREFIX)/bin/glmfit
	install -m 644 Documentation/glmfit.1 $(PREFIX)/share/man/man1/glmfit.1
	$(BIN) --generate-completion-script bash > $(PREFIX)/share/bash-completion/completions/glmfit
	$(BIN) --generate-completion-script zsh > $(PREFIX)/share/zsh/site-functions/_glmfit
	$(BIN) --generate-completion-script fish > $(PREFIX)/share/fish/vendor_completions.d/glmfit.fish

# The manual page from the argument definitions (swift-argument-parser's generate-manual
# plugin); a test checks that the committed one is current.
man:
	$(SWIFT) package plugin generate-manual --authors "the glmfit authors"
	install -d Documentation
	cp .build/plugins/GenerateManual/outputs/glmfit/glmfit.1 Documentation/glmfit.1

clean:
	rm -rf .build
