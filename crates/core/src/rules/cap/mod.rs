//! CAP rules. One file per rule; list each once in `RULES`, in code order.

mod cidr;
mod common;
mod ip_capacity;

mod cap001_max_pods_exceeds_ip_capacity;

use super::Rule;

pub static RULES: &[&dyn Rule] = &[&cap001_max_pods_exceeds_ip_capacity::MaxPodsExceedsIpCapacity];
