//! The `Range` request header (RFC 9110 §14): one byte range is answered `206`, a range past the end
//! `416`, and anything else (no header, another unit, a malformed header, or several ranges) with the
//! whole file in one `200`. Several ranges would need a `multipart/byteranges` body, which players
//! never ask for; answering them with the whole file is what the RFC allows and what S3 does.

/// What to send for a request's `Range` header, given the file's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// The whole file, `200`.
    Whole,
    /// Bytes `start..=end`, `206`.
    Part { start: u64, end: u64 },
    /// No byte of the range is in the file: `416` with `Content-Range: bytes */<len>`.
    Unsatisfiable,
}

impl Ranged {
    /// The answer to `header` (the `Range` value, if any) for a file of `len` bytes.
    pub fn of(header: Option<&str>, len: u64) -> Self {
        let Some(header) = header else { return Ranged::Whole };
        let Some((unit, set)) = header.split_once('=') else { return Ranged::Whole };
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return Ranged::Whole;
        }
        let specs: Vec<&str> = set.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        match specs.as_slice() {
            [one] => single(one, len).unwrap_or(Ranged::Whole),
            _ => Ranged::Whole,
        }
    }
}

/// One `first-last`, `first-` or `-suffix`; `None` when it is malformed (the header is then ignored).
fn single(spec: &str, len: u64) -> Option<Ranged> {
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    if first.trim().is_empty() {
        // The last `n` bytes.
        let n = number(last)?;
        return Some(if n == 0 || len == 0 {
            Ranged::Unsatisfiable
        } else {
            Ranged::Part { start: len - n.min(len), end: len - 1 }
        });
    }
    let start = number(first)?;
    let end = if last.trim().is_empty() { None } else { Some(number(last)?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    if start >= len {
        return Some(Ranged::Unsatisfiable);
    }
    Some(Ranged::Part { start, end: end.map_or(len - 1, |e| e.min(len - 1)) })
}

#[cfg(test)]
mod tests {
    use super::Ranged::{self, *};

    #[test]
    fn single_ranges_of_every_form() {
        let of = |h: &str| Ranged::of(Some(h), 1000);
        assert_eq!(of("bytes=0-99"), Part { start: 0, end: 99 });
        assert_eq!(of("bytes=100-199"), Part { start: 100, end: 199 });
        assert_eq!(of("bytes=-500"), Part { start: 500, end: 999 });
        assert_eq!(of("bytes=-5000"), Part { start: 0, end: 999 });
        assert_eq!(of("bytes=900-"), Part { start: 900, end: 999 });
        assert_eq!(of("bytes=900-5000"), Part { start: 900, end: 999 });
        assert_eq!(of("BYTES = 0-0"), Part { start: 0, end: 0 });
        assert_eq!(of("bytes=0-99, "), Part { start: 0, end: 99 });
    }

    #[test]
    fn past_the_end_is_unsatisfiable_and_the_rest_is_the_whole_file() {
        let of = |h: &str| Ranged::of(Some(h), 1000);
        assert_eq!(of("bytes=1000-"), Unsatisfiable);
        assert_eq!(of("bytes=5000-6000"), Unsatisfiable);
        assert_eq!(of("bytes=-0"), Unsatisfiable);
        assert_eq!(Ranged::of(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(Ranged::of(None, 1000), Whole);
        for ignored in
            ["bytes=0-1,5-6", "bytes=5-1", "bytes=a-b", "items=0-1", "bytes", "bytes=-", "bytes=1-2-3", "bytes=+1-2"]
        {
            assert_eq!(of(ignored), Whole, "{ignored}");
        }
    }
}
