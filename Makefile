# Entry points; CMake does the real work.
#   make demo    install, build, train on Fashion-MNIST (CPU) and write a grid of samples
#   make test    install the Debian packages (with the binding toolchains), configure, build, run every test
#   make build   the same without running the tests
#   make sanitize  the C API tests under AddressSanitizer + UndefinedBehaviorSanitizer (own build dir)
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEPS_FLAGS ?=

# The tests also cover the Java, C#, Go and Rust bindings: install their toolchains too.
test: DEPS_FLAGS = --bindings

.PHONY: all deps configure build test demo install sanitize clean

all: build

deps:
	scripts/setup-deps $(DEPS_FLAGS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

demo: build
	scripts/demo

SANITIZE_DIR ?= build-sanitize
sanitize: deps
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIFFUSE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_DIR) -j $(JOBS) --target diffuse_capi_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitize/lsan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --test-dir $(SANITIZE_DIR) -R '^capi$$' --output-on-failure

install: build
	cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
