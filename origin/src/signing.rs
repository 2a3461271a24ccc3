//! Signed, expiring links to files that are not public (drafts, clips, contact sheets, voice-overs):
//! `/files/<blob key>?expires=<unix seconds>&sig=<hex>`, the signature an HMAC-SHA256 over the path and
//! the expiry with a random key made once and kept in the data folder (`origin.key`, mode 0600).

use hmac::{KeyInit, Mac};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use truereel::BlobKey;

type HmacSha256 = hmac::Hmac<sha2_hmac::Sha256>;

/// The key's file in the data folder.
pub const KEY_FILE: &str = "origin.key";

/// The URL path prefix of signed files.
pub const FILES_PATH: &str = "/files/";

/// How long the signed links the origin hands out (API, review page, `truereel serve --sign`) stay valid.
pub const LINK_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// What a signature covers besides the path and the expiry (a new scheme gets a new tag).
const CONTEXT: &[u8] = b"truereel-origin/files/v1\n";

const KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("signing key {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key {path} is not a key ({len} bytes, expected {KEY_BYTES}); remove it to make a new one")]
    Malformed { path: PathBuf, len: usize },
    #[error("no randomness for a signing key: {0}")]
    Random(String),
}

/// What a link's signature says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Signed by our key and not expired.
    Valid,
    /// Signed by our key, but its time is past.
    Expired,
    /// Missing, malformed, or not ours.
    Invalid,
}

/// The origin's link-signing key.
pub struct SigningKey {
    key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// The key kept in `data_dir`, made (32 random bytes, mode 0600) when there is none. Two processes
    /// starting at once end up with the same key: the file is written aside and linked into place only
    /// if no key is there yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SigningError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| SigningError::Io { path: path.clone(), source };
        match std::fs::read(&path) {
            Ok(bytes) => return Self::from_file(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let mut key = [0u8; KEY_BYTES];
        getrandom::fill(&mut key).map_err(|e| SigningError::Random(e.to_string()))?;
        // tempfile makes the file 0600.
        let mut tmp = tempfile::Builder::new().prefix(".origin-key-").tempfile_in(data_dir).map_err(io)?;
        tmp.write_all(&key).and_then(|()| tmp.as_file().sync_all()).map_err(io)?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => {
                tracing::info!(path = %path.display(), "Made the origin's link-signing key.");
                Ok(Self { key })
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::from_file(&path, &std::fs::read(&path).map_err(io)?)
            }
            Err(e) => Err(io(e.error)),
        }
    }

    fn from_file(path: &Path, bytes: &[u8]) -> Result<Self, SigningError> {
        let key: [u8; KEY_BYTES] =
            bytes.try_into().map_err(|_| SigningError::Malformed { path: path.to_path_buf(), len: bytes.len() })?;
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "The origin's signing key is readable by others; chmod 600 it.");
            }
        }
        Ok(Self { key })
    }

    /// A key from bytes (tests).
    pub fn from_bytes(key: [u8; KEY_BYTES]) -> Self {
        Self { key }
    }

    /// The hex signature of `path` (the URL path, `/files/<key>`) until `expires` (Unix seconds).
    pub fn sign(&self, path: &str, expires: u64) -> String {
        hex(&self.mac(path, expires).finalize().into_bytes())
    }

    fn mac(&self, path: &str, expires: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(CONTEXT);
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The path of a signed link to `key` (`/files/<key>?expires=…&sig=…`), valid for `ttl` from now.
    pub fn link_path(&self, key: &BlobKey, ttl: Duration) -> String {
        let expires = unix_now().saturating_add(ttl.as_secs().max(1));
        let path = format!("{FILES_PATH}{key}");
        let sig = self.sign(&path, expires);
        format!("{path}?expires={expires}&sig={sig}")
    }

    /// Checks the `expires` and `sig` of a request's raw query for `path`, at `now` (Unix seconds).
    /// The signature is checked first (in constant time), so an unsigned request learns nothing.
    pub fn check(&self, path: &str, query: Option<&str>, now: u64) -> Signature {
        let (mut expires, mut sig) = (None, None);
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match name.as_ref() {
                "expires" if expires.is_none() => expires = Some(value.into_owned()),
                "sig" if sig.is_none() => sig = Some(value.into_owned()),
                _ => {}
            }
        }
        let (Some(expires), Some(sig)) = (expires, sig) else { return Signature::Invalid };
        // The canonical form only: digits without a sign or leading zeros, as `link_path` writes it.
        let Some(at) = expires.parse::<u64>().ok().filter(|n| n.to_string() == expires) else {
            return Signature::Invalid;
        };
        let Some(sig) = unhex(&sig) else { return Signature::Invalid };
        if self.mac(path, at).verify_slice(&sig).is_err() {
            return Signature::Invalid;
        }
        if at < now { Signature::Expired } else { Signature::Valid }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(link: &str) -> (&str, &str) {
        link.split_once('?').unwrap()
    }

    #[test]
    fn a_link_checks_until_it_expires_and_not_for_another_path() {
        let k = SigningKey::from_bytes([7; 32]);
        let key = BlobKey::parse("reels/tee--0123456789ab/reel-1.mp4").unwrap();
        let link = k.link_path(&key, Duration::from_secs(60));
        let (path, q) = query(&link);
        assert_eq!(path, "/files/reels/tee--0123456789ab/reel-1.mp4");
        let now = unix_now();
        assert_eq!(k.check(path, Some(q), now), Signature::Valid);
        assert_eq!(k.check(path, Some(q), now + 3600), Signature::Expired);
        assert_eq!(k.check("/files/reels/tee--0123456789ab/reel-2.mp4", Some(q), now), Signature::Invalid);
        assert_eq!(SigningKey::from_bytes([8; 32]).check(path, Some(q), now), Signature::Invalid);
        assert_eq!(k.check(path, None, now), Signature::Invalid);
        // A later expiry with the old signature is refused.
        let (expires, sig) = q.split_once('&').unwrap();
        let later: u64 = expires.trim_start_matches("expires=").parse::<u64>().unwrap() + 1000;
        assert_eq!(k.check(path, Some(&format!("expires={later}&{sig}")), now), Signature::Invalid);
        assert_eq!(k.check(path, Some(&format!("expires=0{}&{sig}", &expires[8..])), now), Signature::Invalid);
        assert_eq!(k.check(path, Some(&format!("{expires}&sig=00")), now), Signature::Invalid);
    }

    #[test]
    fn the_key_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = SigningKey::load_or_create(dir.path()).unwrap();
        let b = SigningKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, [0; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        let err = SigningKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a key"), "{err}");
    }
}
