#![no_main]
//! `.eks-cilium-doctor.yaml` suppressions: any text parses or is refused
//! with a message, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = doctor_core::suppress::SuppressionConfig::parse(
            text,
            std::path::Path::new(".eks-cilium-doctor.yaml"),
        );
    }
});
