#!/usr/bin/env python3
"""Writes a C file that defines every function of capi/diffuse.h with an empty body: compiled with -g,
it carries exactly the header's ABI (function signatures, struct layouts, enum values) for libabigail,
without the library's C++ internals. Also prints nothing else.

  abi_probe.py HEADER OUT.c"""
import re
import sys


def functions(header):
    text = re.sub(r"/\*.*?\*/", " ", open(header).read(), flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    for decl in re.findall(r"DIFFUSE_API\s+([^;{]*?\))\s*;", text, flags=re.S):
        decl = " ".join(decl.split())
        head, params = decl.split("(", 1)
        name = re.findall(r"\w+", head)[-1]
        ret = head[: head.rindex(name)].strip()
        yield ret, name, params[:-1]


def main():
    header, out = sys.argv[1:]
    lines = ['#include "diffuse.h"', ""]
    count = 0
    for ret, name, params in functions(header):
        # Unnamed parameters are not allowed in a C definition: name every one p0, p1, ...
        named = []
        for i, p in enumerate(x.strip() for x in params.split(",")):
            if p == "void":
                named.append(p)
                continue
            words = re.findall(r"\w+", p)
            last = words[-1] if words else ""
            named.append(p if not p.endswith("*") and last not in ("int", "size_t", "double", "uint64_t", "int64_t")
                         and not last.startswith("diffuse_") else f"{p} p{i}")
        body = "{ }" if ret == "void" else "{ return 0; }"
        lines.append(f"{ret} {name}({', '.join(named)}) {body}")
        count += 1
    if count < 20:
        sys.exit(f"only {count} functions found in {header}")
    open(out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
