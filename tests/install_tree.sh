#!/usr/bin/env bash
# Installs every component into a scratch prefix, moves the tree elsewhere (an install must be
# relocatable), and uses it from there the way README shows: a C program with pkg-config, the CLI, a
# CMake project with find_package (from the moved prefix and from the build tree), and each binding
# whose component was built (Java, C#, Go, Rust). No installed file may name the build or source tree.
#   tests/install_tree.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/first" >/dev/null

# No path of this machine's checkout or build in any installed file.
if grep -rl -F -e "$build" -e "$source" "$work/first" >"$work/leaks"; then
  echo "FAIL: installed files that name $source or $build:"
  cat "$work/leaks"
  exit 1
fi
mv "$work/first" "$work/moved"
prefix=$work/moved
pc=$(dirname "$(find "$prefix" -name diffuse.pc)")
export PKG_CONFIG_PATH=$pc
libdir=$(pkg-config --variable=libdir diffuse)
[[ $(cd "$libdir" && pwd -P) == $(cd "$(dirname "$(find "$prefix" -name 'libdiffuse.so.*' | head -1)")" && pwd -P) ]] ||
  { echo "FAIL: diffuse.pc's libdir $libdir is not where the library is"; exit 1; }

echo "C with pkg-config"
cc -std=c99 -Wall -Werror "$source/samples/c/version.c" $(pkg-config --cflags --libs diffuse) -Wl,-rpath,"$libdir" \
   -o "$work/version"
"$work/version"

echo "the CLI"
"$prefix/bin/diffuse" --version

echo "the CLI trains a tiny model and evaluates it, the classifier found in the moved share/diffuse"
source "$source/tests/tiny_config.sh"
tiny_config "output_dir: \"$work/run\" batch_size: 32 duration_images: 64 checkpoint_images: 0 threads: 2" \
  >"$work/train.textproto"
"$prefix/bin/diffuse" train "$work/train.textproto" >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
cat >"$work/eval.textproto" <<EVAL
reference { format: IDX path: "$data/t10k-images-idx3-ubyte.gz" labels_path: "$data/t10k-labels-idx1-ubyte.gz" }
classifier: "metrics/fashion-mnist-classifier.safetensors" num_images: 10 k: 2 sampler { num_steps: 2 }
EVAL
(cd / && "$prefix/bin/diffuse" eval "$work/run/checkpoint-0000000.safetensors" "$work/eval.textproto") \
  >"$work/eval.txt" 2>"$work/eval.log" || { cat "$work/eval.log"; exit 1; }
grep -q "classifier $(cd "$prefix" && pwd -P)/share/diffuse/metrics/fashion-mnist-classifier.safetensors" "$work/eval.log" ||
  grep -q "classifier $prefix/share/diffuse/metrics/fashion-mnist-classifier.safetensors" "$work/eval.log" ||
  { echo "FAIL: the classifier was not taken from the moved prefix:"; cat "$work/eval.log"; exit 1; }
grep -q "^FD_cls " "$work/eval.txt" || { echo "FAIL: no FD_cls"; cat "$work/eval.txt"; exit 1; }

echo "CMake find_package: install prefix, then build tree"
cmake -S "$source/samples/cmake" -B "$work/cmake-installed" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-installed" >/dev/null
"$work/cmake-installed/version"
cmake -S "$source/samples/cmake" -B "$work/cmake-build-tree" -G "Unix Makefiles" -Ddiffuse_DIR="$build/cmake" >/dev/null
cmake --build "$work/cmake-build-tree" >/dev/null
"$work/cmake-build-tree/version"

export LD_LIBRARY_PATH=$libdir  # for the bindings' programs, as README says for a non-system prefix
if [[ -f $prefix/share/java/diffuse.jar ]]; then
  echo "Java"
  mkdir -p "$work/java"
  cat >"$work/java/App.java" <<'JAVA'
public class App {
  public static void main(String[] args) { System.out.println("diffuse " + org.diffuse.Diffuse.version() + " from Java"); }
}
JAVA
  javac -cp "$prefix/share/java/diffuse.jar" -d "$work/java" "$work/java/App.java"
  java -Djava.library.path="$libdir/jni" -cp "$work/java:$prefix/share/java/diffuse.jar" App
fi
if [[ -f $libdir/diffuse/csharp/Diffuse.dll ]]; then
  echo "C#"
  mkdir -p "$work/csharp"
  echo 'class App { static void Main() { System.Console.WriteLine("diffuse " + Diffuse.Library.Version + " from C#"); } }' \
    >"$work/csharp/App.cs"
  mcs -nologo -r:"$libdir/diffuse/csharp/Diffuse.dll" -out:"$work/csharp/App.exe" "$work/csharp/App.cs"
  MONO_PATH="$libdir/diffuse/csharp" mono "$work/csharp/App.exe"
fi
if [[ -f $prefix/share/diffuse/go/go.mod ]] && command -v go >/dev/null; then
  echo "Go"
  mkdir -p "$work/go"
  cat >"$work/go/main.go" <<'GO'
package main

import (
	"fmt"

	"diffuse"
)

func main() { fmt.Println("diffuse", diffuse.Version(), "from Go") }
GO
  printf 'module app\n\ngo 1.19\n\nrequire diffuse v0.0.0\n\nreplace diffuse => %s\n' "$prefix/share/diffuse/go" \
    >"$work/go/go.mod"
  (cd "$work/go" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE="$work/go-cache" GOPATH="$work/gopath" \
     go build -o app . && ./app)
fi
if [[ -f $prefix/share/diffuse/rust/Cargo.toml ]] && [[ -x /usr/bin/cargo ]]; then
  echo "Rust"
  mkdir -p "$work/rust/src"
  printf '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ndiffuse = { path = "%s" }\n' \
    "$prefix/share/diffuse/rust" >"$work/rust/Cargo.toml"
  echo 'fn main() { println!("diffuse {} from Rust", diffuse::version()); }' >"$work/rust/src/main.rs"
  CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/rust/target" \
    /usr/bin/cargo run --offline --quiet --manifest-path "$work/rust/Cargo.toml"
fi
echo "installed tree usable after a move"
