# backstop — build, test, demo and benchmarks. `make setup` provides librdkafka, the test broker and a Python venv.
SHELL := /bin/bash
DEPS ?= $(CURDIR)/.deps
-include $(DEPS)/env.mk
export PKG_CONFIG_PATH
SWIFT_LINK := $(if $(RDKAFKA_LIBDIR),-Xlinker -rpath -Xlinker $(RDKAFKA_LIBDIR),)
SWIFT_BUILD_FLAGS ?=
BIN_DEBUG := .build/debug/backstop
BIN_RELEASE := .build/release/backstop

.PHONY: setup build release test test-swift test-contract demo bench asan clean

setup:
	@bash scripts/setup.sh

build: setup
	@$(MAKE) --no-print-directory _build

_build:
	swift build $(SWIFT_LINK) $(SWIFT_BUILD_FLAGS)

release: setup
	@$(MAKE) --no-print-directory _release

_release:
	swift build -c release $(SWIFT_LINK) $(SWIFT_BUILD_FLAGS)

# Unit tests, real-broker integration tests, then the Python contract test against the real binary.
test: setup
	@$(MAKE) --no-print-directory _test

_test: _build
	TANSU=$(TANSU) swift test $(SWIFT_LINK) $(SWIFT_BUILD_FLAGS)
	BACKSTOP=$(CURDIR)/$(BIN_DEBUG) TANSU=$(TANSU) BACKSTOP_CONFIG=$(CURDIR)/config/backstop.yaml \
		$(VENV_PYTHON) -m pytest -q tests/contract tests/reference tests/report

# The Kafka layer under AddressSanitizer (leaks, double frees).
asan: setup
	TANSU=$(TANSU) LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan.supp swift test --sanitize=address \
		--scratch-path .build-asan $(SWIFT_LINK) --filter KafkaTests

demo: setup
	@$(MAKE) --no-print-directory _release
	@bash scripts/demo.sh $(CURDIR)/$(BIN_RELEASE) $(TANSU) $(VENV_PYTHON)

bench: setup
	@$(MAKE) --no-print-directory _release
	@bash scripts/bench.sh $(CURDIR)/$(BIN_RELEASE) $(TANSU) $(VENV_PYTHON)

clean:
	rm -rf .build .build-asan
