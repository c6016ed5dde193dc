//! The failure digests' spool: a directory holding digests not yet delivered, one file each,
//! named so that name order is window order, and a counter of failed posts.
//!
//! A digest is written here before it is posted and removed once the receiver took it, so a
//! digest process killed anywhere in between loses nothing: the next start sends what is
//! here, oldest first. (Killed between the post and the removal, a digest is sent twice; its
//! stable ID lets the receiver drop the second.) One digest process holds the directory at a
//! time (an exclusive `flock` on `DIR/lock`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The counter file: failed posts since the spool was created, in decimal.
const COUNTER: &str = "failed_posts";

/// A spool directory this process holds.
#[derive(Debug)]
pub(crate) struct DigestSpool {
    dir: PathBuf,
    /// Held for the process's life: the `flock` is the claim.
    _lock: File,
}

impl DigestSpool {
    /// Create (if needed) and hold `dir`; an error when another digest holds it.
    pub(crate) fn open(dir: &Path) -> Result<DigestSpool, String> {
        let fail = |e: io::Error| format!("digest spool {}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(fail)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(fail)?;
        // SAFETY: flock on a descriptor we own; no memory is shared.
        let r = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(format!(
                "digest spool {}: held by another cutover digest (one digest per spool)",
                dir.display()
            ));
        }
        Ok(DigestSpool {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `body` as the digest `name` (`<window start>-<fleet>`): beside, fsync, rename,
    /// fsync the directory, so a file in the spool is always whole.
    pub(crate) fn put(&self, name: &str, body: &[u8]) -> Result<PathBuf, String> {
        let path = self.dir.join(format!("{name}.json"));
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let fail = |e: io::Error| format!("digest spool {}: {e}", path.display());
        let mut f = File::create(&tmp).map_err(fail)?;
        f.write_all(body)
            .and_then(|()| f.sync_all())
            .map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)?;
        self.sync_dir()?;
        Ok(path)
    }

    /// The digests waiting, oldest window first.
    pub(crate) fn pending(&self) -> Result<Vec<PathBuf>, String> {
        let fail = |e: io::Error| format!("digest spool {}: {e}", self.dir.display());
        let mut out: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(fail)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name()
                        .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// A delivered digest leaves the spool.
    pub(crate) fn remove(&self, path: &Path) -> Result<(), String> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(format!("digest spool {}: {e}", path.display()))
            }
            _ => self.sync_dir(),
        }
    }

    /// Failed posts counted so far (0 when the counter is missing or unreadable).
    pub(crate) fn failures(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(COUNTER))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Count one more failed post; the new total.
    pub(crate) fn bump_failures(&self) -> Result<u64, String> {
        let n = self.failures() + 1;
        let path = self.dir.join(COUNTER);
        let tmp = self.dir.join(format!(".{COUNTER}.tmp"));
        let fail = |e: io::Error| format!("digest spool {}: {e}", path.display());
        let mut f = File::create(&tmp).map_err(fail)?;
        f.write_all(format!("{n}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(fail)?;
        Ok(n)
    }

    fn sync_dir(&self) -> Result<(), String> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("digest spool {}: {e}", self.dir.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cutover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn digests_wait_in_window_order_and_leave_when_delivered() {
        let d = dir("digest-spool-order");
        let s = DigestSpool::open(&d).unwrap();
        let late = s.put("0000001700000600000-lab", b"{\"id\":2}").unwrap();
        let early = s.put("0000001700000300000-lab", b"{\"id\":1}").unwrap();
        assert_eq!(s.pending().unwrap(), vec![early.clone(), late.clone()]);
        assert_eq!(std::fs::read(&early).unwrap(), b"{\"id\":1}");
        s.remove(&early).unwrap();
        s.remove(&early).unwrap(); // gone already: not an error
        assert_eq!(s.pending().unwrap(), vec![late]);
        assert_eq!(s.failures(), 0);
        assert_eq!(s.bump_failures().unwrap(), 1);
        assert_eq!(s.bump_failures().unwrap(), 2);
        assert_eq!(s.failures(), 2);
        // A torn temporary file is not a digest.
        std::fs::write(d.join(".0000001700000900000-lab.tmp"), b"{").unwrap();
        assert_eq!(s.pending().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn one_digest_process_holds_a_spool() {
        let d = dir("digest-spool-held");
        let first = DigestSpool::open(&d).unwrap();
        let e = DigestSpool::open(&d).unwrap_err();
        assert!(e.contains("held by another cutover digest"), "{e}");
        drop(first);
        assert!(DigestSpool::open(&d).is_ok(), "released with its holder");
        let _ = std::fs::remove_dir_all(&d);
    }
}
