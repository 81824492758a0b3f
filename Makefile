# Entry points; CMake does the real work.
#   make demo    install, build, train on Fashion-MNIST (CPU) and write a grid of samples
#   make test    install the Debian packages (with the binding toolchains), configure, build, run every test
#   make build   the same without running the tests
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEPS_FLAGS ?=

# The tests also cover the Java, C#, Go and Rust bindings: install their toolchains too.
test: DEPS_FLAGS = --bindings

.PHONY: all deps configure build test demo install clean

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

install: build
	cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
