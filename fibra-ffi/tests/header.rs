//! `include/fibra.h` is what cbindgen generates from this crate: a stale
//! checked-in header fails this test, which prints how to regenerate it.

use std::path::Path;

#[test]
fn checked_in_header_matches_cbindgen() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("cbindgen writes UTF-8");

    let path = crate_dir.join("include/fibra.h");
    if std::env::var_os("FIBRA_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/fibra.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "fibra-ffi/include/fibra.h is stale (it differs from what cbindgen generates from fibra-ffi/src).\n\
         Regenerate it with:\n    FIBRA_BLESS=1 cargo test -p fibra-ffi --test header\n\
         and commit the result."
    );
}
