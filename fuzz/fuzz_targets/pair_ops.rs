//! See `sansweb_core::fuzzing::pair::pair_ops`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::pair::pair_ops(data));
