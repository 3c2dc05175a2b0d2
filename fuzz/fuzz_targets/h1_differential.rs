//! See `sansweb_core::fuzzing::differential::h1_differential`.
#![no_main]
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| sansweb_core::fuzzing::differential::h1_differential(data)
);
