//! The result-file reader used by `simulate` and `plot`: any bytes in a file are either a result
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    // One file per process, rewritten for each input (libFuzzer runs inputs one at a time).
    let path = std::env::temp_dir().join(format!("hjb-fuzz-result-{}.h5", std::process::id()));
    {
        let mut file = std::fs::File::create(&path).expect("create the temporary file");
        file.write_all(data).expect("write the temporary file");
    }
    let _ = hjb::io::hdf5::read_result(&path);
});
