//! Generate a large, deterministic cilium-agent log for the streaming
//! benchmark: kubelet's RFC3339Nano prefix and the slog text format of
//! Cilium >= 1.18, ordinary lines of a busy agent (endpoint regeneration,
//! policy, IPAM), and every 100,000th line a known signature, so the scanner
//! has something to aggregate.
//!
//! ```sh
//! cargo run -p doctor-bench --release --bin gen-log -- --mib 1024 --out /tmp/agent.log
//! /usr/bin/time -v target/release/phase-times /tmp/agent.log
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};

const ROUTINE: &[&str] = &[
    "level=info msg=\"Rewrote endpoint BPF program\" ciliumEndpointName=shop/web-5c8d7b9f4-x7f2m containerID=4c1f0d2a9e endpointID=1843 identity=40213 ipv4=10.0.12.7 subsys=endpoint",
    "level=info msg=\"Policy imported via API, recalculating...\" policyAddRequest=8f0c6f0e-46a1-4e1b-9b51-2c2d5f4fd7a1 policyRevision=912 subsys=daemon",
    "level=info msg=\"Create endpoint request\" addressing=\"&{10.0.12.8 1c6e5bd0-1 default   }\" containerID=9b3e0c7f21 datapathConfiguration=\"&{false true false true true 0xc00163a4aa}\" interface=lxc9d2c1f6e8a71 k8sPodName=shop/api-6f7d-a labels=\"[]\" subsys=daemon sync-build=true",
    "level=warn msg=\"Unable to update CiliumNode custom resource\" error=\"Operation cannot be fulfilled on ciliumnodes.cilium.io: the object has been modified; please apply your changes to the latest version and try again\" subsys=ipam",
    "level=info msg=\"Delete endpoint request\" containerID=77aa01bc4e endpointID=1771 k8sNamespace=shop k8sPodName=api-6f7d-b subsys=daemon",
];
const SIGNATURE: &str = "level=info msg=\"Waiting for IPs to become available in CRD-backed allocation pool\" available=0 helpMessage=\"Check if cilium-operator pod is running and does not have any warnings or error messages.\" name=ip-192-168-119-76.ec2.internal required=2 subsys=ipam";

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mib: u64 = value("--mib").map_or(1024, |v| v.parse().expect("--mib N"));
    let out = value("--out").expect("usage: gen-log --mib N --out FILE");
    let target = mib * 1024 * 1024;
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&out)?);
    let (mut written, mut n) = (0u64, 0u64);
    while written < target {
        // One line per millisecond from 2025-03-31T00:00:00Z.
        let ms = n;
        let (s, frac) = (ms / 1000, ms % 1000);
        let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
        let day = 1 + (s / 86_400) % 28;
        let ts = format!("2025-04-{day:02}T{h:02}:{m:02}:{sec:02}.{frac:03}000000Z");
        let body = if n % 100_000 == 99_999 {
            SIGNATURE
        } else {
            ROUTINE[(n % ROUTINE.len() as u64) as usize]
        };
        let line = format!("{ts} time={ts} {body}\n");
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        n += 1;
    }
    w.flush()?;
    eprintln!("wrote {n} lines, {written} bytes to {out}");
    Ok(())
}
