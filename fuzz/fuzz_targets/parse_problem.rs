//! The problem-file parser: any text is either a problem or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hjb::parse_problem(text, Path::new("fuzz.toml"));
    }
});
