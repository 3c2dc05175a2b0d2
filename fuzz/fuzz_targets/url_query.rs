//! See `sansweb_core::fuzzing::query::url_query`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::query::url_query(data));
