//! POSIX `cksum` (CRC-32/CKSUM over the bytes and their length), so a remote file can be
//! compared with what we read earlier using only a tool every Unix host has.

const POLY: u32 = 0x04c1_1db7;

fn update(mut crc: u32, byte: u8) -> u32 {
    crc ^= u32::from(byte) << 24;
    for _ in 0..8 {
        crc = if crc & 0x8000_0000 != 0 {
            (crc << 1) ^ POLY
        } else {
            crc << 1
        };
    }
    crc
}

/// What `cksum < file` prints for `data`: `"<crc> <length>"`.
pub(crate) fn cksum_line(data: &[u8]) -> String {
    let mut crc = data.iter().fold(0u32, |c, &b| update(c, b));
    let mut len = data.len();
    while len > 0 {
        crc = update(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    format!("{} {}", !crc, data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn system_cksum(data: &[u8]) -> String {
        let mut child = Command::new("cksum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn matches_known_values() {
        assert_eq!(cksum_line(b""), "4294967295 0");
        assert_eq!(cksum_line(b"abc"), "1219131554 3");
    }

    #[test]
    fn matches_the_system_cksum() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for data in [&b"upstream gateway {\n}\n"[..], &big[..], &[0u8; 256][..]] {
            assert_eq!(cksum_line(data), system_cksum(data));
        }
    }
}
