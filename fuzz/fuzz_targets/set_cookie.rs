//! Set-Cookie parsing and jar matching: see `sansweb_core::fuzzing::cookie::set_cookie`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::cookie::set_cookie(data));
