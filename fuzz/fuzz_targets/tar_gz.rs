#![no_main]
//! Loader target `tar_gz`: any bytes, recognised by content like a file
//! (the committed seeds in `fuzz/corpus/tar_gz/` steer it to this format).

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::load("snapshot.tar.gz", data));
