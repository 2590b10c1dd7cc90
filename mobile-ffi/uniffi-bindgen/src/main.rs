//! `uniffi-bindgen`: generates the Kotlin and Python (and Swift) bindings of kam-ffi from the
//! built library, e.g. `uniffi-bindgen generate --library target/debug/libkam_ffi.so
//! --language kotlin --out-dir target/bindings/kotlin`. See `scripts/bindings`.

fn main() {
    uniffi::uniffi_bindgen_main();
}
