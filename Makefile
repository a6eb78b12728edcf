# A thin wrapper over tools/setup.sh, CMake and ctest. `make run` and
# `make test` are the two commands in the README; both are safe to run again.
BUILD ?= build
LUA ?= lua5.4
PORT ?= 8443

.PHONY: all setup build run chain serve test test-sanitize bench bench-scale install clean

all: build

setup:
	@tools/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j2

chain: build
	$(LUA) scripts/build_chain.lua

run: chain
	$(LUA) scripts/serve.lua --port $(PORT)

test: build
	@tools/setup.sh --test
	ctest --test-dir $(BUILD) --output-on-failure

# The whole suite once more, built with AddressSanitizer + UBSan.
test-sanitize: setup
	@tools/setup.sh --test
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DCS_SANITIZE=ON
	cmake --build $(BUILD)-asan -j2
	ctest --test-dir $(BUILD)-asan --output-on-failure

bench: build
	bench/run.sh

# Issuance rate, database size and lookup time up to 1 M certificates
# (about 2 minutes and 1.5 GB in /tmp on a quiet machine).
bench-scale: build
	$(LUA) bench/scale.lua 1000000

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan
