#![no_main]
//! Loader target `kube_json`: any bytes, recognised by content like a file
//! (the committed seeds in `fuzz/corpus/kube_json/` steer it to this format).

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::load("k8s.json", data));
