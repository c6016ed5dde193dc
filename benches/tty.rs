//! What the cockpit costs an SSH link: `cutover demo` in a real pseudo-terminal of 120x40,
//! bytes written per second in steady state (telemetry moving), when idle (the simulated
//! clock nearly stopped, so only the wall clock changes), and the time from a key press to
//! the first bytes of its answer.
//!
//! Run: `cargo bench --bench tty` (SECONDS=N for the steady-state window, default 20).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child in a pty: the master side, and every chunk it wrote with its arrival time.
struct Pty {
    master: std::fs::File,
    child: std::process::Child,
    chunks: mpsc::Receiver<(Instant, usize, bool)>,
}

fn spawn(args: &[&str]) -> Pty {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the given ints; the size is read only.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both fds were just opened by openpty and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(args)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn cutover");
    let master = std::fs::File::from(master);
    let mut reader = master.try_clone().expect("dup master");
    let mut answer = master.try_clone().expect("dup master");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let chunk = &buf[..n];
                    // A cursor-position query gets an answer, as a terminal would give.
                    let query = chunk.windows(4).any(|w| w == b"\x1b[6n");
                    if query {
                        let _ = answer.write_all(b"\x1b[1;1R");
                    }
                    if tx.send((Instant::now(), n, query)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    Pty {
        master,
        child,
        chunks: rx,
    }
}

impl Pty {
    /// Bytes that arrive within `d`.
    fn bytes_for(&self, d: Duration) -> usize {
        let end = Instant::now() + d;
        let mut total = 0;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.chunks.recv_timeout(left) {
                Ok((_, n, _)) => total += n,
                Err(_) => break,
            }
        }
        total
    }

    /// Drain what is buffered.
    fn drain(&self) {
        while self.chunks.try_recv().is_ok() {}
    }

    /// Time from writing `key` to the first moment at least `min_bytes` have arrived.
    fn key_latency(&mut self, key: &[u8], min_bytes: usize) -> Duration {
        self.drain();
        let t = Instant::now();
        self.master.write_all(key).expect("key");
        let mut got = 0;
        loop {
            let (at, n, _) = self
                .chunks
                .recv_timeout(Duration::from_secs(5))
                .expect("an answer to the key");
            got += n;
            if got >= min_bytes {
                return at - t;
            }
        }
    }

    fn quit(mut self) {
        let _ = self.master.write_all(b"q");
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.master.as_raw_fd();
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("tty: a benchmark; run it with `cargo bench --bench tty`");
        return;
    }
    let secs: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);

    // Steady state: the default demo at its own speed, telemetry moving on every gateway.
    let p = spawn(&["demo"]);
    let first = p.bytes_for(Duration::from_secs(5));
    let steady = p.bytes_for(Duration::from_secs(secs));
    p.quit();
    println!(
        "tty/120x40 demo steady state: {:.0} B/s over {secs} s (first 5 s incl. first frame: {first} B)",
        steady as f64 / secs as f64
    );

    // Idle: the simulation slowed 1000x, so nothing but the wall clock moves.
    let mut p = spawn(&["demo", "--speed", "0.001"]);
    p.bytes_for(Duration::from_secs(3));
    let idle = p.bytes_for(Duration::from_secs(secs));
    println!(
        "tty/120x40 demo idle: {:.0} B/s over {secs} s",
        idle as f64 / secs as f64
    );

    // Key press to screen: `?` opens the help (kilobytes), Esc closes it; the clock's few
    // bytes a second cannot be mistaken for either.
    let mut lat = Vec::new();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(150 + (i * 37) % 300));
        lat.push(p.key_latency(b"?", 500));
        std::thread::sleep(Duration::from_millis(150));
        lat.push(p.key_latency(b"\x1b", 500));
    }
    p.quit();
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "tty/120x40 key to screen: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} presses)",
        ms(lat[lat.len() / 2]),
        ms(lat[lat.len() * 95 / 100]),
        ms(*lat.last().expect("samples")),
        lat.len()
    );
}
