//! Loopback addresses claimed by labs, so that labs and parallel tests never share one.
//!
//! A claim is a file named after the address in a machine-wide directory, created with
//! `O_EXCL`; it names the lab directory and the pid of the `lab up` that made it. A claim
//! is stale when its lab no longer lists the address and its maker is gone.

use super::layout::PORTS;
use super::process;
use super::state::LabState;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

/// Addresses handed out: 127.0.1.2 to 127.0.1.254 (127.0.1.1 is often the host's own name).
const FIRST: u8 = 2;
const LAST: u8 = 254;

/// The machine-wide claims directory.
pub(crate) fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("cutover-lab-claims")
}

fn claim_path(ip: Ipv4Addr) -> PathBuf {
    claims_dir().join(ip.to_string())
}

/// True when every lab port on `ip` can be bound right now.
fn ports_free(ip: Ipv4Addr) -> bool {
    PORTS
        .iter()
        .all(|&port| TcpListener::bind(SocketAddr::from((ip, port))).is_ok())
}

fn stale(ip: Ipv4Addr, path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let mut lines = text.lines();
    let (Some(dir), Some(pid)) = (lines.next(), lines.next()) else {
        // Claims are linked into place whole, so this is not a claim in progress.
        return true;
    };
    let maker_alive = pid.parse::<u32>().is_ok_and(process::alive);
    let listed = LabState::load(&Path::new(dir).join("lab.json"))
        .map(|s| s.hosts.iter().any(|h| h.ip == ip))
        .unwrap_or(false);
    !maker_alive && !listed
}

/// Claim `n` addresses for the lab in `dir`; all or none.
pub(crate) fn claim(n: usize, dir: &Path) -> Result<Vec<Ipv4Addr>, String> {
    let cdir = claims_dir();
    std::fs::create_dir_all(&cdir)
        .map_err(|e| format!("cannot create the claims directory {}: {e}", cdir.display()))?;
    let mut got = Vec::with_capacity(n);
    for last in FIRST..=LAST {
        if got.len() == n {
            break;
        }
        let ip = Ipv4Addr::new(127, 0, 1, last);
        let path = claim_path(ip);
        if path.exists() && stale(ip, &path) {
            let _ = std::fs::remove_file(&path);
        }
        // Write the claim whole beside, then link it into place: link(2) fails if the claim
        // exists, and a concurrent `lab up` never sees a claim without its owner.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = cdir.join(format!(".{ip}.{}.{seq}.tmp", std::process::id()));
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .and_then(|mut f| writeln!(f, "{}\n{}", dir.display(), std::process::id()));
        let linked = written.is_ok() && std::fs::hard_link(&tmp, &path).is_ok();
        let _ = std::fs::remove_file(&tmp);
        if !linked {
            continue;
        }
        if !ports_free(ip) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        got.push(ip);
    }
    if got.len() < n {
        release(&got);
        return Err(format!(
            "only {} free loopback addresses in 127.0.1.{FIRST}-{LAST} for {n} gateways (claims in {})",
            got.len(),
            cdir.display()
        ));
    }
    Ok(got)
}

/// Give the addresses back.
pub(crate) fn release(ips: &[Ipv4Addr]) {
    for &ip in ips {
        let _ = std::fs::remove_file(claim_path(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_claims_never_share_an_address() {
        let dir = std::env::temp_dir().join(format!("cutover-claims-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || claim(3, &dir).unwrap())
            })
            .collect();
        let sets: Vec<Vec<Ipv4Addr>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut all: Vec<Ipv4Addr> = sets.iter().flatten().copied().collect();
        let n = all.len();
        all.sort();
        all.dedup();
        for s in &sets {
            release(s);
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((n, all.len()), (12, 12), "an address was handed out twice");
    }
}
