//! Gives the shared library its soname, so that programs linked against
//! `libstrongroom.so` record `libstrongroom.so.0` and keep working across
//! compatible (0.x) updates of the file.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libstrongroom.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
