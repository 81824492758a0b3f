// Links libdiffuse. DIFFUSE_LIB_DIR names the directory of libdiffuse.so (a build tree or an install
// prefix's lib/); without it, `pkg-config --variable=libdir diffuse` (an installed library), else the
// linker's default paths. Tests, examples and binaries of this package get an rpath to that
// directory; other crates need their own (or LD_LIBRARY_PATH).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=DIFFUSE_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dir = std::env::var("DIFFUSE_LIB_DIR").ok().or_else(|| {
        let out = Command::new("pkg-config").args(["--variable=libdir", "diffuse"]).output().ok()?;
        let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !dir.is_empty()).then_some(dir)
    });
    if let Some(dir) = dir {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
        println!("cargo:lib_dir={}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=diffuse");
}
