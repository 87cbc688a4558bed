#![no_main]
//! Loader target `aws_json`: any bytes, recognised by content like a file
//! (the committed seeds in `fuzz/corpus/aws_json/` steer it to this format).

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::load("aws.json", data));
