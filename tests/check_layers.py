#!/usr/bin/env python3
"""Fails when a core source includes a header of a layer its own layer does not depend on.

  check_layers.py LAYERS_TXT CORE_DIR

LAYERS_TXT is written by core/CMakeLists.txt from the layers' CMake dependencies (the one statement of
the layer order); each line is `layer dirs may-include`, comma-separated. A generated schema's header
(`diffuse.pb.h`, `tensorboard.pb.h`: any `*.pb.h` named without a directory) counts as a layer of its own."""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    layers_txt, core = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    allowed = {}  # directory -> what files in it may include
    for line in layers_txt.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        _, dirs, may = line.split()
        for d in dirs.split(","):
            allowed[d] = set(may.split(","))
    bad, checked = [], 0
    for path in sorted(core.rglob("*")):
        if path.suffix not in (".h", ".cpp", ".cu", ".cuh"):
            continue
        layer_dir = path.relative_to(core).parts[0]
        if layer_dir not in allowed:
            bad.append(f"{path}: in {layer_dir}/, which is no layer of core/CMakeLists.txt")
            continue
        for header in INCLUDE.findall(path.read_text()):
            checked += 1
            schema = "/" not in header and header.endswith(".pb.h")
            target = header if schema else header.split("/")[0]
            if "/" not in header and not schema:
                continue  # a header of the same directory
            if target not in allowed[layer_dir]:
                bad.append(f"{path.relative_to(core)}: includes \"{header}\", but {layer_dir}/ may include only "
                           f"{', '.join(sorted(allowed[layer_dir]))}")
    for b in bad:
        print(b)
    if checked < 100:
        print(f"only {checked} includes checked: is {core} the core directory?")
        return 1
    print(f"{checked} includes checked, {len(bad)} against the layer order")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
