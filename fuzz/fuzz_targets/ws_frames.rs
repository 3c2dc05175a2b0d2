//! WebSocket frames and messages: see `sansweb_core::fuzzing::ws::ws_frames`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sansweb_core::fuzzing::ws::ws_frames(data));
