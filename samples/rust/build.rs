// An rpath to libdiffuse.so in DIFFUSE_LIB_DIR, so that the sample runs without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DIFFUSE_LIB_DIR");
    if let Ok(dir) = std::env::var("DIFFUSE_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
}
