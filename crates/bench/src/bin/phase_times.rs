//! Where `check` spends its time, through `doctor_core` alone (no CLI, no
//! live clients, so it builds in a fraction of the time): the load, then
//! every rule on its own, slowest first.
//!
//! `phase-times DIR` prints `load <s>`, `rules <s>` and one
//! `rule <CODE> <s>` line per rule taking at least a millisecond.

use std::path::PathBuf;
use std::time::Instant;

use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::{registry, CheckOptions, Context};

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: phase-times DIR");
    let started = Instant::now();
    let loaded = load_paths(&[PathBuf::from(dir)], &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    println!("load {:.3}", started.elapsed().as_secs_f64());
    let options = CheckOptions::default();
    let cx = Context::new(&loaded.cluster, Knowledge::embedded(), &options);
    let mut times: Vec<(f64, &str)> = registry()
        .iter()
        .map(|rule| {
            let at = Instant::now();
            // Only the time counts; the findings are dropped.
            let _ = rule.check(&cx);
            (at.elapsed().as_secs_f64(), rule.meta().code)
        })
        .collect();
    println!("rules {:.3}", times.iter().map(|t| t.0).sum::<f64>());
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (seconds, code) in times.iter().filter(|t| t.0 >= 0.001) {
        println!("rule {code} {seconds:.3}");
    }
    // Exit without freeing the model, as `check` does.
    std::process::exit(0);
}
