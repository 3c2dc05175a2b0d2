//! See `sansweb_core::fuzzing::handshake::ws_handshake`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::handshake::ws_handshake(data));
