//! CONN rules: what `cilium connectivity test` reports. One file per rule;
//! list each once in `RULES`, in code order.

mod conn001_connectivity_test_failed;

use super::Rule;

pub static RULES: &[&dyn Rule] = &[&conn001_connectivity_test_failed::ConnectivityTestFailed];
