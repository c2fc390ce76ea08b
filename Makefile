# Front door for the two README commands and CI. CMake + Ninja do the work.
#   make demo          set up, build, run the main job
#   make test          set up, build, run the whole test suite
#   make test-sanitize the same under ASan+UBSan (CPU-only build)
#   make fuzz          build the libFuzzer targets and run each for FUZZ_SECONDS
#   make bench         build and run the benchmarks (figures for docs/performance.md)
JOBS ?= $(shell nproc)
BUILD ?= build
SAN_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
GENERATOR := $(if $(shell command -v ninja),-G Ninja,)
CMAKE_FLAGS ?=

.PHONY: setup build demo test test-sanitize fuzz bench clean

setup:
	@scripts/setup-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	scripts/main-job $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: setup
	cmake -S . -B $(SAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DTERN_CUDA=OFF -DTERN_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

fuzz: setup
	@scripts/setup-deps --extra
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTERN_CUDA=OFF -DTERN_BUILD_FUZZ=ON -DTERN_BUILD_TESTS=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target tern_fuzzers
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: setup
	cmake -S . -B $(BUILD) $(GENERATOR) -DTERN_BUILD_BENCH=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	scripts/run-benchmarks $(BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
