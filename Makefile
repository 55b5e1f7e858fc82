# The two commands: `make demo` and `make test`. Both install what is missing
# (Debian packages, via deploy/install-deps.sh) and build first.
BUILD_DIR ?= build
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo package bench-gateway bench-overload bench-dispatch bench-remote bench-activations bench-state bench-state-store bench-failover clean

all: build

deps:
	@bash deploy/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# `sync` first: the tests' nodes sync their stores and consensus logs, and
# should not queue behind the build's writes still on their way to disk.
test: build
	@sync
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

demo: build
	@bash deploy/demo.sh $(BUILD_DIR)

# $(BUILD_DIR)/troupe_<version>_<arch>.deb: the program and the SDK, for /usr
# (cmake/TroupePackage.cmake). Install it with `apt install ./$(BUILD_DIR)/troupe_*.deb`.
package: build
	@cd $(BUILD_DIR) && cpack -G DEB

bench-gateway: build
	@bash bench/gateway/run.sh $(BUILD_DIR)

bench-overload: build
	@bash bench/overload/run.sh $(BUILD_DIR)

bench-dispatch: build
	@$(BUILD_DIR)/bench/dispatch/troupe_bench_dispatch

bench-remote: build
	@$(BUILD_DIR)/bench/remote/troupe_bench_remote

bench-activations: build
	@$(BUILD_DIR)/bench/activations/troupe_bench_activations

bench-state: build
	@bash bench/state/run.sh $(BUILD_DIR)

bench-state-store: build
	@$(BUILD_DIR)/bench/state/troupe_bench_state

bench-failover: build
	@$(BUILD_DIR)/bench/failover/troupe_bench_failover

clean:
	@rm -rf $(BUILD_DIR)
