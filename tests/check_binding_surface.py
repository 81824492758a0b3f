#!/usr/bin/env python3
"""Checks bindings/surface.md against capi/diffuse.h and the public members of each binding.

Fails when a function of the header has no row, a row names a function the header lacks, a cell is
empty, a "—" cell has no reason, or a named member is not public in that language's sources:
  Java  Class.method      a public method of a public class in bindings/java/src
  C#    Class.Member      a public method, property or field in bindings/csharp/src
  Go    Func, Type.Method an exported function, method or struct field in bindings/go
  Rust  name, Type::name  a `pub fn` (or a trait method such as drop) of the crate; free functions
                          must be re-exported by src/lib.rs
usage: check_binding_surface.py <repository root>
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
errors = []


def header_functions():
    text = (root / "capi/diffuse.h").read_text()
    return set(re.findall(r"^DIFFUSE_API\b[^;]*?\b(diffuse_\w+)\s*\(", text, re.M | re.S))


def table():
    rows = {}
    lines = (root / "bindings/surface.md").read_text().splitlines()
    for line in lines:
        if not line.startswith("| diffuse_"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6:
            errors.append(f"surface.md: {len(cells)} cells, want 6: {line}")
            continue
        if cells[0] in rows:
            errors.append(f"surface.md: {cells[0]} has two rows")
        rows[cells[0]] = cells[1:]
    return rows


def sources(directory, suffix):
    return [(p, p.read_text()) for p in sorted((root / directory).rglob("*" + suffix))]


def java_members():
    members = set()
    for path, text in sources("bindings/java/src", ".java"):
        cls = re.search(r"^public (?:final |abstract )*class (\w+)([^{]*)", text, re.M)
        if not cls:
            continue
        name = cls.group(1)
        for m in re.finditer(r"^\s+public (?:static |final |synchronized )*[\w<>\[\], .?]+?\s(\w+)\s*\(", text, re.M):
            members.add(f"{name}.{m.group(1)}")
        if re.search(r"extends (Runtime)?Exception", cls.group(2)):
            members.add(f"{name}.getMessage")
    return members


def csharp_members():
    members = set()
    for path, text in sources("bindings/csharp/src", ".cs"):
        current = None
        for line in text.splitlines():
            cls = re.match(r"^public (?:sealed |static |abstract |partial )*(?:class|struct) (\w+)(.*)", line)
            if cls:
                current = cls.group(1)
                if re.search(r":\s*Exception\b", cls.group(2)):
                    members.add(f"{current}.Message")
                continue
            m = re.match(r"^\s+public (?:static |override |readonly |sealed |virtual )*[\w<>\[\], .?]+?\s(\w+)\s*(\(|=>|\{|;)", line)
            if m and current:
                members.add(f"{current}.{m.group(1)}")
    return members


def go_members():
    members = set()
    for path, text in sources("bindings/go", ".go"):
        if path.name.endswith("_test.go"):
            continue
        for m in re.finditer(r"^func (?:\(\w+ \*?(\w+)\) )?([A-Z]\w*)\(", text, re.M):
            members.add(f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(2))
        for s in re.finditer(r"^type ([A-Z]\w*) struct \{(.*?)^\}", text, re.M | re.S):
            for f in re.finditer(r"^\t([A-Z][\w, ]*?)\s+\S", s.group(2), re.M):
                for field in f.group(1).split(","):
                    members.add(f"{s.group(1)}.{field.strip()}")
    return members


def rust_members():
    members = set()
    for path, text in sources("bindings/rust/src", ".rs"):
        current = None
        for line in text.splitlines():
            impl = re.match(r"^impl(?:<[^>]*>)? (?:(\w+)(?:<[^>]*>)? for )?(\w+)", line)
            if impl:
                current = (impl.group(2), impl.group(1) is not None)
                continue
            if line.startswith("}"):
                current = None
                continue
            top = re.match(r"^pub fn (\w+)", line)
            if top:
                members.add(top.group(1))
                continue
            m = re.match(r"^    (pub )?fn (\w+)", line)
            if m and current and (m.group(1) or current[1]):
                members.add(f"{current[0]}::{m.group(2)}")
        for s in re.finditer(r"^pub struct (\w+)[^{]*\{(.*?)^\}", text, re.M | re.S):
            for f in re.finditer(r"^\s+pub (\w+):", s.group(2), re.M):
                members.add(f"{s.group(1)}.{f.group(1)}")
    exported = set(re.findall(r"\b(\w+)\b", " ".join(re.findall(r"pub use [^;]*;", (root / "bindings/rust/src/lib.rs").read_text(), re.S))))
    return {m for m in members if "::" in m or "." in m or m in exported}


languages = [("Java", java_members()), ("C#", csharp_members()), ("Go", go_members()), ("Rust", rust_members())]
header = header_functions()
rows = table()
for name in sorted(header - rows.keys()):
    errors.append(f"{name}: in capi/diffuse.h but not in bindings/surface.md")
for name in sorted(rows.keys() - header):
    errors.append(f"{name}: in bindings/surface.md but not in capi/diffuse.h")
for name, cells in sorted(rows.items()):
    note = cells[4]
    for (language, members), cell in zip(languages, cells[:4]):
        if cell == "—":
            if not note:
                errors.append(f"{name}: {language} has no counterpart and the note gives no reason")
        elif not cell:
            errors.append(f"{name}: no {language} counterpart")
        elif cell not in members:
            errors.append(f"{name}: {language} {cell} is not public in the {language} binding")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"{len(header)} functions of capi/diffuse.h: each reached from Java, C#, Go and Rust")
