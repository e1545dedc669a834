//! The notAfter of an X.509 certificate, for the
//! `deskguard_tls_cert_not_after_seconds` gauge. A minimal DER walk
//! (Certificate → TBSCertificate → Validity → notAfter), no parser crate:
//! rustls does not expose validity dates.

/// One DER TLV at `pos`: (tag, content range). Definite lengths only (DER).
fn tlv(buf: &[u8], pos: usize) -> Option<(u8, std::ops::Range<usize>)> {
    let tag = *buf.get(pos)?;
    let first = *buf.get(pos + 1)? as usize;
    let (len, start) = if first < 0x80 {
        (first, pos + 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *buf.get(pos + 2 + i)? as usize;
        }
        (len, pos + 2 + n)
    };
    let end = start.checked_add(len)?;
    (end <= buf.len()).then_some((tag, start..end))
}

/// Unix seconds of a certificate's notAfter (UTCTime or GeneralizedTime).
pub fn not_after_unix(der: &[u8]) -> Option<i64> {
    const SEQ: u8 = 0x30;
    let (t, cert) = tlv(der, 0)?;
    if t != SEQ {
        return None;
    }
    let (t, tbs) = tlv(der, cert.start)?;
    if t != SEQ {
        return None;
    }
    let mut pos = tbs.start;
    // [0] EXPLICIT version, optional.
    let (t, r) = tlv(der, pos)?;
    if t == 0xa0 {
        pos = r.end;
    }
    // serialNumber, signature, issuer, then validity.
    for expect in [0x02, SEQ, SEQ] {
        let (t, r) = tlv(der, pos)?;
        if t != expect {
            return None;
        }
        pos = r.end;
    }
    let (t, validity) = tlv(der, pos)?;
    if t != SEQ || validity.end > tbs.end {
        return None;
    }
    let (_, not_before) = tlv(der, validity.start)?;
    let (t, not_after) = tlv(der, not_before.end)?;
    parse_time(t, &der[not_after])
}

fn parse_time(tag: u8, s: &[u8]) -> Option<i64> {
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let b = s.get(r)?;
        b.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, rest) = match (tag, s.len()) {
        (0x17, 13) => {
            let yy = digits(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 15) => (digits(0..4)?, 4),
        _ => return None,
    };
    if s.last() != Some(&b'Z') {
        return None;
    }
    let month = digits(rest..rest + 2)?;
    let day = digits(rest + 2..rest + 4)?;
    let (h, m, sec) = (
        digits(rest + 4..rest + 6)?,
        digits(rest + 6..rest + 8)?,
        digits(rest + 8..rest + 10)?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_until(y: i32, m: u8, d: u8) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.not_after = rcgen::date_time_ymd(y, m, d);
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_not_after_utctime_and_generalizedtime() {
        // 2030-01-02T00:00:00Z (UTCTime) and 2051-03-04T00:00:00Z (GeneralizedTime).
        assert_eq!(not_after_unix(&cert_until(2030, 1, 2)), Some(1_893_542_400));
        assert_eq!(not_after_unix(&cert_until(2051, 3, 4)), Some(2_561_500_800));
    }

    #[test]
    fn times_and_garbage() {
        assert_eq!(parse_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(parse_time(0x18, b"20000229120000Z"), Some(951_825_600));
        assert_eq!(parse_time(0x17, b"701301000000Z"), None);
        assert_eq!(parse_time(0x17, b"7001010000001"), None);
        assert_eq!(not_after_unix(b""), None);
        assert_eq!(not_after_unix(&[0x30, 0x03, 0x30, 0x01, 0x00]), None);
        let der = cert_until(2030, 1, 2);
        for cut in [1, 10, 100, der.len() / 2] {
            assert_eq!(not_after_unix(&der[..cut]), None);
        }
    }
}
