//! Router: see `sansweb_core::fuzzing::router::router`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::router::router(data));
