//! `uniffi-bindgen-swift`: generates kam-ffi's Swift sources, C header and module map from the
//! built library, with `--xcframework` for the module map an XCFramework needs.

fn main() {
    uniffi::uniffi_bindgen_swift();
}
