//! The public certificate of an https health URL: days until it expires (warn under
//! `tls_warn_days`, fail under `tls_fail_days`), read from the certificate the server sends.
//! The date is read from the DER itself (a few lines, no X.509 library); the handshake is
//! reqwest's, with the configured CA file added to the system's roots for private CAs.

use super::Status;

/// One DER element: tag, contents, and what follows it.
fn tlv(b: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = b.split_first().ok_or("certificate: truncated DER")?;
    let (&first, rest) = rest.split_first().ok_or("certificate: truncated DER")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("certificate: bad DER length".into());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("certificate: DER element longer than the certificate".into());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as Unix seconds.
fn asn1_time(tag: u8, v: &[u8]) -> Result<i64, String> {
    let s = std::str::from_utf8(v).map_err(|_| "certificate: time is not ASCII")?;
    let digits = s
        .strip_suffix('Z')
        .ok_or("certificate: time is not in UTC")?;
    let num = |a: usize, b: usize| -> Result<i64, String> {
        digits
            .get(a..b)
            .and_then(|x| x.parse::<i64>().ok())
            .ok_or_else(|| format!("certificate: bad time {s:?}"))
    };
    let (year, at) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(0, 2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0, 4)?, 4),
        _ => return Err(format!("certificate: unsupported time {s:?}")),
    };
    let (mo, d) = (num(at, at + 2)?, num(at + 2, at + 4)?);
    let (h, mi, sec) = (
        num(at + 4, at + 6)?,
        num(at + 6, at + 8)?,
        num(at + 8, at + 10)?,
    );
    Ok(days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// The `notAfter` of a DER certificate, as Unix seconds.
pub(crate) fn not_after(der: &[u8]) -> Result<i64, String> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    // [0] EXPLICIT version, when present.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature algorithm, issuer.
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (tag, validity, _) = tlv(rest)?;
    if tag != 0x30 {
        return Err("certificate: no validity where X.509 puts it".into());
    }
    let (_, _, after) = tlv(validity)?;
    let (tag, value, _) = tlv(after)?;
    asn1_time(tag, value)
}

/// Whole days from `now` until `not_after` (negative once expired).
pub(crate) fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(86_400)
}

/// The row for a certificate with `days` left.
pub(crate) fn judge(days: i64, warn_days: u64, fail_days: u64) -> (Status, String) {
    let limits = format!("warn under {warn_days}, fail under {fail_days}");
    let days_i = |d: u64| i64::try_from(d).unwrap_or(i64::MAX);
    if days < 0 {
        (
            Status::Fail,
            format!("certificate expired {} days ago", -days),
        )
    } else if days < days_i(fail_days) {
        (
            Status::Fail,
            format!("certificate expires in {days} {} ({limits})", plural(days)),
        )
    } else if days < days_i(warn_days) {
        (
            Status::Warn,
            format!("certificate expires in {days} {} ({limits})", plural(days)),
        )
    } else {
        (Status::Ok, format!("certificate valid {days} more days"))
    }
}

fn plural(days: i64) -> &'static str {
    if days == 1 { "day" } else { "days" }
}

/// Fetch `url` and return the DER of the certificate the server presented.
pub(crate) async fn peer_certificate(
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<u8>, String> {
    let resp = client.get(url).send().await.map_err(|e| {
        format!(
            "TLS to {url} failed: {}",
            crate::fleet::probe::dial::chain(&e)
        )
    })?;
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("{url}: the server sent no certificate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_count_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(
            asn1_time(0x17, b"491231235959Z"),
            Ok(days_from_civil(2049, 12, 31) * 86_400 + 86_399)
        );
        assert_eq!(asn1_time(0x17, b"500101000000Z"), Ok(-631_152_000));
        assert_eq!(
            asn1_time(0x18, b"20500101000000Z"),
            Ok(days_from_civil(2050, 1, 1) * 86_400)
        );
        assert!(asn1_time(0x17, b"2401010000Z").is_err());
        assert!(asn1_time(0x18, b"20500101000000+0100").is_err());
    }

    #[test]
    fn days_are_judged_against_the_limits() {
        assert_eq!(judge(30, 14, 3).0, Status::Ok);
        assert_eq!(judge(13, 14, 3).0, Status::Warn);
        assert_eq!(judge(2, 14, 3).0, Status::Fail);
        let (s, why) = judge(-4, 14, 3);
        assert_eq!(
            (s, why.as_str()),
            (Status::Fail, "certificate expired 4 days ago")
        );
        assert_eq!(days_left(86_400 * 2 + 5, 0), 2);
        assert_eq!(days_left(0, 1), -1);
    }

    /// A DER element with a short length.
    fn el(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, u8::try_from(body.len()).unwrap()];
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn not_after_is_read_where_x509_puts_it() {
        let validity = [el(0x17, b"240101000000Z"), el(0x18, b"20350607080910Z")].concat();
        let tbs = [
            el(0xa0, &el(0x02, &[2])),
            el(0x02, &[0x01, 0x02]),
            el(0x30, &el(0x06, &[0x2a])),
            el(0x30, &[]),
            el(0x30, &validity),
            el(0x30, &[]),
        ]
        .concat();
        // A long-form length on the outer sequence, as real certificates have.
        let inner = [el(0x30, &tbs), el(0x30, &[])].concat();
        let mut der = vec![0x30, 0x81, u8::try_from(inner.len()).unwrap()];
        der.extend_from_slice(&inner);
        assert_eq!(
            not_after(&der),
            Ok(days_from_civil(2035, 6, 7) * 86_400 + 8 * 3600 + 9 * 60 + 10)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\xff\xff\xff\xff\xff",
            b"\x30\x02\x30\x00",
        ] {
            assert!(not_after(bad).is_err(), "{bad:?}");
        }
    }
}
