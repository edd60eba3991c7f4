//! `render` target: the body is `fgd_sync_guest::fuzzing::render`, shared with the smoke test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fgd_sync_guest::fuzzing::render(data));
