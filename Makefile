# Entry points; CMake does the real work.
#   make demo    install, build, train on Fashion-MNIST (CPU) and write a grid of samples
#   make test    install what the build needs, then build and run every test against both LibTorch lines:
#                Debian's 1.13 (CPU; in build/; every test) and the PyTorch 2.11 wheel's, CUDA compiled in
#                and run on the CPU here (in build-torch-wheel/; the tests a LibTorch can change, no
#                bindings); then make sanitize
#   make test-debian, make test-wheel   one line only
#   make build   the Debian line without running the tests (make build-wheel: the wheel's)
#   make sanitize  the C API tests under AddressSanitizer + UndefinedBehaviorSanitizer and every fuzz corpus
#                replayed (clang, in build-sanitize/; part of make test)
#   make fuzz    fuzz every input surface for FUZZ_SECONDS each (default 60; FUZZ_TARGETS to pick some)
#   make tsan    the C API tests (threads: concurrent sampling, status and stop while training) under
#                ThreadSanitizer (clang, in build-tsan/)
BUILD_DIR ?= build
WHEEL_BUILD_DIR ?= build-torch-wheel
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEPS_FLAGS ?=

# The tests also cover the Java, C#, Go and Rust bindings: install their toolchains too.
test test-debian test-wheel: DEPS_FLAGS = --bindings

.PHONY: all deps configure build test test-debian demo install package abi-baseline clean
.PHONY: configure-sanitize sanitize-build sanitize test-sanitize fuzz tsan
.PHONY: configure-wheel build-wheel test-wheel

all: build

deps:
	scripts/setup-deps $(DEPS_FLAGS)

# The tensorboard_readback test reads event files with the PyPI tensorboard, from a small venv
# (scripts/setup-test-python prints its python; a failed set-up stops here, never skips the test).
configure: deps
	tensorboard_python=$$(scripts/setup-test-python) && \
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DDIFFUSE_TENSORBOARD_PYTHON="$$tensorboard_python" $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: test-debian test-wheel test-sanitize

test-debian: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The PyTorch wheel's LibTorch in a venv (scripts/setup-torch-wheel prints its CMake prefix path); the GPU
# benchmarks are built too, so that bench/gpu/device-check.sh never meets code that no longer compiles.
# No bindings: they wrap the C header alone, which the Debian line builds and tests them against; nor
# the tests of code that is ours alone (tests/CMakeLists.txt: DIFFUSE_SYSTEM_TORCH).
# This line builds with CMake's default generator (Unix Makefiles), the Debian line with Ninja: both work.
configure-wheel: deps
	torch_prefix=$$(scripts/setup-torch-wheel) && \
	cmake -S . -B $(WHEEL_BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DDIFFUSE_CUDA=ON -DDIFFUSE_BENCH=ON \
	  -DDIFFUSE_BINDINGS=OFF -DCMAKE_PREFIX_PATH="$$torch_prefix" $(CMAKE_FLAGS)

build-wheel: configure-wheel
	cmake --build $(WHEEL_BUILD_DIR) -j $(JOBS)

test-wheel: build-wheel
	ctest --test-dir $(WHEEL_BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	scripts/demo

# The sanitizer builds use clang (libFuzzer); they build only the library, its C tests and the fuzz targets.
SANITIZE_DIR ?= build-sanitize
configure-sanitize: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDIFFUSE_FUZZ=ON -DDIFFUSE_BINDINGS=OFF $(CMAKE_FLAGS)

sanitize-build: configure-sanitize
	cmake --build $(SANITIZE_DIR) -j $(JOBS) --target diffuse_capi_tests fuzz_targets

sanitize test-sanitize: sanitize-build
	ctest --test-dir $(SANITIZE_DIR) -L sanitize --output-on-failure -j $(JOBS)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: sanitize-build
	tests/fuzz/fuzz.sh run $(SANITIZE_DIR)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

TSAN_DIR ?= build-tsan
tsan: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DDIFFUSE_TSAN=ON -DDIFFUSE_BINDINGS=OFF $(CMAKE_FLAGS)
	cmake --build $(TSAN_DIR) -j $(JOBS) --target diffuse_capi_tests
	ctest --test-dir $(TSAN_DIR) -R '^capi$$' --output-on-failure

install: build
	cmake --install $(BUILD_DIR)

# The ABI baseline abi/libdiffuse.so.<ABI>.abi from the Debian line's library (tests/abi_check.sh).
abi-baseline: build
	tests/abi_check.sh --write $(BUILD_DIR)/libdiffuse.so $(CURDIR)

# Debian packages of the Debian line (cmake/package.cmake) in $(BUILD_DIR).
package: build
	cmake --build $(BUILD_DIR) --target package

clean:
	rm -rf $(BUILD_DIR) $(WHEEL_BUILD_DIR) $(SANITIZE_DIR) $(TSAN_DIR)
