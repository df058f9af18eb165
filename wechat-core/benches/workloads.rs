//! Criterion benchmarks of the workloads W1–W4 (filled in by the next commit).
fn main() {}
