//! src/ffi.rs is written by hand; this test parses capi/diffuse.h and fails on any drift: a function
//! missing on either side or with other parameter/return types, an enum value or #define constant
//! with another value, a struct field of another name or type.
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

fn read(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e))
}

/// The header without comments and preprocessor lines, whitespace collapsed.
fn header_code(header: &str) -> String {
    let mut out = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = &rest[start + 2..];
        let end = rest.find("*/").expect("unterminated comment");
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A C type in one canonical spelling: "const char*", "diffuse_trainer**", "int64_t".
fn canonical_c(ty: &str) -> String {
    let ty = ty.replace('*', " * ");
    let words: Vec<&str> = ty.split_whitespace().collect();
    let is_const = words.first() == Some(&"const");
    let base: Vec<&str> = words.iter().copied().filter(|w| *w != "const" && *w != "*" && *w != "struct").collect();
    let stars = words.iter().filter(|w| **w == "*").count();
    format!("{}{}{}", if is_const && stars > 0 { "const " } else { "" }, base.join(" "), "*".repeat(stars))
}

/// The C spelling of a Rust FFI type, in canonical_c's form.
fn canonical_rust(ty: &str) -> String {
    let mut ty = ty.trim().to_string();
    if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        ty = inner.to_string();
    }
    let mut stars = 0;
    let mut pointee_const = false;
    loop {
        if let Some(rest) = ty.strip_prefix("*const ") {
            pointee_const = true;
            ty = rest.to_string();
        } else if let Some(rest) = ty.strip_prefix("*mut ") {
            pointee_const = false;
            ty = rest.to_string();
        } else {
            break;
        }
        stars += 1;
    }
    let base = match ty.trim() {
        "c_void" | "()" => "void",
        "c_char" => "char",
        "c_int" | "i32" => "int",
        "c_double" | "f64" => "double",
        "c_float" | "f32" => "float",
        "i64" => "int64_t",
        "u64" => "uint64_t",
        "u8" => "uint8_t",
        "usize" => "size_t",
        other => other,
    };
    // Pointer-to-const is only said of the innermost pointer, as in the header.
    format!("{}{}{}", if pointee_const { "const " } else { "" }, base, "*".repeat(stars))
}

/// The type of a C declaration "TYPE NAME" (the last identifier is the name).
fn c_decl_type(decl: &str) -> String {
    let decl = decl.trim();
    let name_start = decl.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    canonical_c(&decl[..name_start])
}

type Functions = BTreeMap<String, (String, Vec<String>)>;

fn header_functions(code: &str) -> Functions {
    let mut functions = Functions::new();
    for part in code.split("DIFFUSE_API").skip(1) {
        let decl = &part[..part.find(';').expect("declaration without ;")];
        let open = decl.find('(').unwrap();
        let close = decl.rfind(')').unwrap();
        let head = decl[..open].trim();
        let name_start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let params = decl[open + 1..close].trim();
        let params = if params == "void" || params.is_empty() {
            Vec::new()
        } else {
            params.split(',').map(c_decl_type).collect()
        };
        functions.insert(head[name_start..].to_string(), (canonical_c(&head[..name_start]), params));
    }
    functions
}

fn rust_functions(ffi: &str) -> Functions {
    let block = &ffi[ffi.find("extern \"C\" {").expect("no extern block")..];
    let mut functions = Functions::new();
    for part in block.split("pub fn ").skip(1) {
        let decl: String = part[..part.find(';').unwrap()].split_whitespace().collect::<Vec<_>>().join(" ");
        let open = decl.find('(').unwrap();
        let close = decl.rfind(')').unwrap();
        let params = decl[open + 1..close]
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| canonical_rust(&p[p.find(':').unwrap() + 1..]))
            .collect();
        let ret = decl[close + 1..].trim().strip_prefix("->").map_or("void".to_string(), canonical_rust);
        functions.insert(decl[..open].trim().to_string(), (ret, params));
    }
    functions
}

/// NAME = VALUE of the header's enums and its numeric #defines.
fn header_constants(header: &str, code: &str) -> BTreeMap<String, i64> {
    let mut constants = BTreeMap::new();
    for line in header.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() == 3 && words[0] == "#define" {
            if let Ok(v) = words[2].parse() {
                constants.insert(words[1].to_string(), v);
            }
        }
    }
    for part in code.split("typedef enum").skip(1) {
        let body = &part[part.find('{').unwrap() + 1..part.find('}').unwrap()];
        for item in body.split(',') {
            if let Some((name, value)) = item.split_once('=') {
                constants.insert(name.trim().to_string(), value.trim().parse().expect("enum value"));
            }
        }
    }
    constants
}

fn rust_constants(ffi: &str) -> BTreeMap<String, i64> {
    ffi.lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .map(|l| {
            let name = l[..l.find(':').unwrap()].trim().to_string();
            let value = l[l.find('=').unwrap() + 1..].trim_end_matches(';').trim().parse().expect("constant value");
            (name, value)
        })
        .collect()
}

/// Field names and types of the header's typedef'd structs with a body.
fn header_structs(code: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut structs = BTreeMap::new();
    for part in code.split("typedef struct").skip(1) {
        let (open, semi) = (part.find('{'), part.find(';').unwrap());
        let open = match open {
            Some(o) if o < semi => o,
            _ => continue, // an opaque handle
        };
        let name = part[..open].trim().to_string();
        let close = part.find('}').unwrap();
        let fields = part[open + 1..close]
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let name_start = f.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap() + 1;
                (f[name_start..].to_string(), canonical_c(&f[..name_start]))
            })
            .collect();
        structs.insert(name, fields);
    }
    structs
}

fn rust_structs(ffi: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut structs = BTreeMap::new();
    for part in ffi.split("pub struct ").skip(1) {
        let name = part[..part.find('{').unwrap()].trim().to_string();
        let body = &part[part.find('{').unwrap() + 1..part.find('}').unwrap()];
        let fields: Vec<(String, String)> = body
            .split(',')
            .map(str::trim)
            .filter_map(|f| f.strip_prefix("pub "))
            .map(|f| {
                let (n, t) = f.split_once(':').unwrap();
                (n.trim().to_string(), canonical_rust(t))
            })
            .collect();
        if !fields.is_empty() {
            structs.insert(name, fields);
        }
    }
    structs
}

#[test]
fn every_function_of_the_header_is_declared_with_the_same_types() {
    let header = read("../../capi/diffuse.h");
    let c = header_functions(&header_code(&header));
    let rust = rust_functions(&read("src/ffi.rs"));
    assert!(c.len() >= 20, "parsed only {} functions from diffuse.h", c.len());
    let mut drift = Vec::new();
    for (name, signature) in &c {
        match rust.get(name) {
            None => drift.push(format!("{} is in diffuse.h but not in src/ffi.rs", name)),
            Some(r) if r != signature => drift.push(format!("{}: header {:?}, ffi.rs {:?}", name, signature, r)),
            _ => {}
        }
    }
    for name in rust.keys().filter(|n| !c.contains_key(*n)) {
        drift.push(format!("{} is in src/ffi.rs but not in diffuse.h", name));
    }
    assert!(drift.is_empty(), "src/ffi.rs differs from capi/diffuse.h:\n{}", drift.join("\n"));
}

#[test]
fn constants_and_enum_values_match_the_header() {
    let header = read("../../capi/diffuse.h");
    let c = header_constants(&header, &header_code(&header));
    let rust = rust_constants(&read("src/ffi.rs"));
    assert!(c.len() >= 25, "parsed only {} constants from diffuse.h", c.len());
    let mut drift: Vec<String> = c
        .iter()
        .filter(|(name, value)| rust.get(*name) != Some(value))
        .map(|(name, value)| format!("{} = {} in diffuse.h, {:?} in src/ffi.rs", name, value, rust.get(name)))
        .collect();
    drift.extend(rust.keys().filter(|n| !c.contains_key(*n)).map(|n| format!("{} is not in diffuse.h", n)));
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

#[test]
fn struct_fields_match_the_header() {
    let c = header_structs(&header_code(&read("../../capi/diffuse.h")));
    let rust = rust_structs(&read("src/ffi.rs"));
    assert!(c.contains_key("diffuse_train_status"), "parsed structs: {:?}", c.keys());
    assert_eq!(c, rust, "structs of capi/diffuse.h (left) and src/ffi.rs (right) differ");
}

#[test]
fn canonical_types_tell_apart_what_the_abi_tells_apart() {
    assert_eq!(canonical_c("const void *"), canonical_rust("*const c_void"));
    assert_eq!(canonical_c("diffuse_trainer **"), canonical_rust("*mut *mut diffuse_trainer"));
    assert_ne!(canonical_c("const uint64_t *"), canonical_rust("*const i64"));
    assert_ne!(canonical_c("size_t"), canonical_rust("u32"));
    assert_ne!(canonical_c("uint8_t *"), canonical_rust("*const u8"));
}
