// Links libdiffuse. DIFFUSE_LIB_DIR names the directory of libdiffuse.so (a build tree or an install
// prefix's lib/); without it the linker's default paths are searched. Tests, examples and binaries of
// this package get an rpath to DIFFUSE_LIB_DIR; other crates need their own (or LD_LIBRARY_PATH).
fn main() {
    println!("cargo:rerun-if-env-changed=DIFFUSE_LIB_DIR");
    if let Ok(dir) = std::env::var("DIFFUSE_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
        println!("cargo:lib_dir={}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=diffuse");
}
