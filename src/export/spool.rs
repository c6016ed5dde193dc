//! The annotation spool: a JSON-lines file beside the audit log holding annotations that
//! could not be delivered, sent again by a later attempt or the next start.
//!
//! Several processes share it (a `watch` service, the cockpit, headless steps). Appends take
//! an exclusive `flock` and check that the path still names the file they locked; a sender
//! claims the whole spool by renaming it, under the same lock, to a file of its own
//! (`SPOOL.PID.N.claimed`). So each spooled annotation is in exactly one place: the spool,
//! or one process's claim. A claim whose process is gone is adopted by the next one.

use super::annotate::Annotation;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// An exclusive `flock` on `f`, released when `f` is closed.
fn lock(f: &File) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is shared.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Whether `path` still names the file open as `f` (it was not renamed away meanwhile).
fn still_names(path: &Path, f: &File) -> bool {
    match (std::fs::metadata(path), f.metadata()) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

/// JSON lines of `items`, one whole line each.
fn lines(items: &[Annotation]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in items {
        if let Ok(line) = serde_json::to_vec(a) {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
    }
    out
}

/// Append `items` to the spool at `path` (created if missing) in one write, then fsync.
pub(crate) fn append(path: &Path, items: &[Annotation]) -> Result<(), String> {
    if items.is_empty() {
        return Ok(());
    }
    let bytes = lines(items);
    let fail = |e: io::Error| format!("annotation spool {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    loop {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        lock(&f).map_err(fail)?;
        if !still_names(path, &f) {
            // Claimed (renamed) between our open and our lock: append to the new spool.
            continue;
        }
        return f
            .write_all(&bytes)
            .and_then(|()| f.sync_data())
            .map_err(fail);
    }
}

/// Parse a spool or claim file's text: the annotations and the number of unreadable lines
/// (a write torn by a crash).
pub(crate) fn parse(text: &str) -> (Vec<Annotation>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(a) => out.push(a),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// A claimed file: this process is the only one that reads or rewrites it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// Where it is.
    pub(crate) path: PathBuf,
}

fn claim_name(spool: &Path, n: u64) -> PathBuf {
    let mut name = spool.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.claimed", std::process::id()));
    spool.with_file_name(name)
}

/// Take the spool at `path` whole, if there is one, as claim number `n` of this process.
pub(crate) fn claim(path: &Path, n: u64) -> Result<Option<Claim>, String> {
    let fail = |e: io::Error| format!("annotation spool {}: {e}", path.display());
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    lock(&f).map_err(fail)?;
    if !still_names(path, &f) {
        // Another process claimed it first.
        return Ok(None);
    }
    let to = claim_name(path, n);
    std::fs::rename(path, &to).map_err(fail)?;
    Ok(Some(Claim { path: to }))
}

/// Claims left by processes that are gone, renamed to claims of this one (numbers from `n`).
pub(crate) fn adopt_orphans(spool: &Path, mut n: u64) -> Vec<Claim> {
    let (Some(dir), Some(base)) = (spool.parent(), spool.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let base = base.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(&base)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.strip_suffix(".claimed"))
        else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || crate::lab::process::alive(pid) {
            continue;
        }
        let to = claim_name(spool, n);
        n += 1;
        // Two processes adopting at once: one rename wins, the other finds nothing.
        if std::fs::rename(e.path(), &to).is_ok() {
            out.push(Claim { path: to });
        }
    }
    out
}

impl Claim {
    /// The annotations in the claim and the number of unreadable lines.
    pub(crate) fn read(&self) -> Result<(Vec<Annotation>, usize), String> {
        std::fs::read_to_string(&self.path)
            .map(|t| parse(&t))
            .map_err(|e| format!("annotation spool {}: {e}", self.path.display()))
    }

    /// Keep only `left` in the claim (atomically: beside, then rename); remove it when empty.
    pub(crate) fn rewrite(&self, left: &[Annotation]) -> Result<(), String> {
        let fail = |e: io::Error| format!("annotation spool {}: {e}", self.path.display());
        if left.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(fail(e)),
                _ => Ok(()),
            };
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = File::create(&tmp).map_err(fail)?;
        f.write_all(&lines(left))
            .and_then(|()| f.sync_data())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(id: &str) -> Annotation {
        Annotation {
            id: id.into(),
            time: 1,
            tags: vec!["cutover".into()],
            text: format!("text {id}"),
        }
    }

    #[test]
    fn a_claim_takes_the_spool_whole_and_appends_go_to_a_new_one() {
        let dir = std::env::temp_dir().join(format!("cutover-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = dir.join("annotations.jsonl");
        assert_eq!(
            claim(&spool, 0).unwrap(),
            None,
            "no spool, nothing to claim"
        );
        append(&spool, &[ann("a"), ann("b")]).unwrap();
        let c = claim(&spool, 0).unwrap().unwrap();
        assert!(!spool.exists());
        append(&spool, &[ann("c")]).unwrap();
        let (got, bad) = c.read().unwrap();
        assert_eq!((got.len(), bad), (2, 0));
        c.rewrite(&got[1..]).unwrap();
        assert_eq!(c.read().unwrap().0, vec![ann("b")]);
        c.rewrite(&[]).unwrap();
        assert!(!c.path.exists());
        let (fresh, _) = parse(&std::fs::read_to_string(&spool).unwrap());
        assert_eq!(fresh, vec![ann("c")]);
        // A torn line is counted, not fatal.
        let (ok, bad) = parse("{\"id\":\"x\",\"time\":1,\"tags\":[],\"text\":\"t\"}\n{\"id\":");
        assert_eq!((ok.len(), bad), (1, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn orphan_claims_of_dead_processes_are_adopted() {
        let dir = std::env::temp_dir().join(format!("cutover-spool-orphan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let spool = dir.join("s.jsonl");
        // pid 0 is never alive; our own pid is skipped (our claims are ours already).
        std::fs::write(dir.join("s.jsonl.0.3.claimed"), "").unwrap();
        std::fs::write(
            dir.join(format!("s.jsonl.{}.1.claimed", std::process::id())),
            "",
        )
        .unwrap();
        let got = adopt_orphans(&spool, 7);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, claim_name(&spool, 7));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
