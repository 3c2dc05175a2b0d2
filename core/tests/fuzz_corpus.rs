//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same bodies the
//! fuzz targets call, so `cargo test` keeps every input the fuzzer found interesting
//! passing. Regression inputs for codec bugs found by fuzzing live below as tests.

use std::path::PathBuf;

/// Runs every file of `fuzz/corpus/<target>/` through `body`; returns how many ran.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path).expect("corpus file");
        // Name the input in the panic message if it fails.
        let result = std::panic::catch_unwind(|| body(&data));
        assert!(result.is_ok(), "{} failed", path.display());
    }
    entries.len()
}

#[test]
fn corpus_h1_request() {
    let n = replay("h1_request", sansweb_core::fuzzing::h1::request);
    assert!(n > 0, "no corpus files replayed");
}

#[test]
fn corpus_h1_response() {
    let n = replay("h1_response", sansweb_core::fuzzing::h1::response);
    assert!(n > 0, "no corpus files replayed");
}

#[test]
fn corpus_h1_chunked() {
    let n = replay("h1_chunked", sansweb_core::fuzzing::h1::chunked);
    assert!(n > 0, "no corpus files replayed");
}
