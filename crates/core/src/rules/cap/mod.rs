//! CAP rules. One file per rule; list each once in `RULES`, in code order.

use super::Rule;

pub static RULES: &[&dyn Rule] = &[];
