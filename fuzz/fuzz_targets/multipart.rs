//! See `sansweb_core::fuzzing::multipart::multipart`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::multipart::multipart(data));
