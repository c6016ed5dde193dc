//! Write the same synthetic requests as an access log in cutover's JSON format and in nginx's
//! combined format, for comparing `cutover report` with GoAccess (docs/performance.md).
//!
//! Run: `cargo run --release --example synth_logs -- 1000000 /tmp/logs`

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    let mut json = std::io::BufWriter::new(std::fs::File::create(dir.join("access.json.log"))?);
    let mut combined =
        std::io::BufWriter::new(std::fs::File::create(dir.join("access.combined.log"))?);
    let mut synth = cutover::nginx::synth::Synth::new(0);
    for _ in 0..n {
        let r = synth.request();
        writeln!(json, "{}", cutover::nginx::synth::json(&r))?;
        writeln!(combined, "{}", cutover::nginx::synth::combined(&r))?;
    }
    json.flush()?;
    combined.flush()?;
    println!(
        "{n} requests in {} and {}",
        dir.join("access.json.log").display(),
        dir.join("access.combined.log").display()
    );
    Ok(())
}
