//! See `sansweb_core::fuzzing::pool::pool_ops`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::pool::pool_ops(data));
