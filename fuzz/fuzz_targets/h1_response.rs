//! HTTP/1.1 codec: see `sansweb_core::fuzzing::h1::response`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::h1::response(data));
