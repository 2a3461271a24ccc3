//! Identifier newtypes: parsed once, valid everywhere after.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An identifier that failed validation, with what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! string_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A product's URL slug in its store (`pullover-hoodie`): lowercase ASCII letters, digits, `-`, `_`.
    Handle
);
string_id!(
    /// Lowercase hex SHA-256 of some bytes: the content address of a reference photo.
    Sha256
);
string_id!(
    /// A reel: `<handle>--<first 12 hex of the gallery hash>`, so one gallery state has one reel.
    ReelId
);
string_id!(
    /// A key in the blob store, `/`-separated, never absolute and never climbing out with `..`.
    BlobKey
);
string_id!(
    /// A video provider's job id, stored before anything else happens.
    JobId
);
string_id!(
    /// What makes a paid call unique: `<reel>/shot-<n>/attempt-<k>/<operation>`.
    IdempotencyKey
);

impl Handle {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let bad = |reason| InvalidId { what: "product handle", value: s.to_string(), reason };
        if s.is_empty() || s.len() > 200 {
            return Err(bad("must be 1 to 200 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
            return Err(bad("only lowercase letters, digits, '-' and '_' are allowed"));
        }
        Ok(Self(s.to_string()))
    }
}

impl Sha256 {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(hex(&sha2::Sha256::digest(bytes)))
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidId { what: "sha256", value: s.to_string(), reason: "must be 64 lowercase hex digits" })
        }
    }

    /// The first `n` hex digits, for names and logs.
    pub fn short(&self, n: usize) -> &str {
        &self.0[..n.min(self.0.len())]
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ReelId {
    pub fn new(product: &Handle, gallery_hash: &Sha256) -> Self {
        Self(format!("{}--{}", product, gallery_hash.short(12)))
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let bad = |reason| InvalidId { what: "reel id", value: s.to_string(), reason };
        let (handle, hash) = s.split_once("--").ok_or_else(|| bad("expected <handle>--<hash>"))?;
        Handle::parse(handle).map_err(|_| bad("the handle part is not a valid handle"))?;
        if hash.len() != 12 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the hash part must be 12 hex digits"));
        }
        Ok(Self(s.to_string()))
    }

    /// The product this reel is for.
    pub fn product(&self) -> Handle {
        Handle(self.0.split_once("--").map(|(h, _)| h).unwrap_or(&self.0).to_string())
    }
}

impl BlobKey {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let bad = |reason| InvalidId { what: "blob key", value: s.to_string(), reason };
        if s.is_empty() || s.len() > 1024 {
            return Err(bad("must be 1 to 1024 bytes"));
        }
        if s.starts_with('/') || s.contains('\\') || s.contains('\0') {
            return Err(bad("must be relative, with '/' separators"));
        }
        if s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return Err(bad("segments must be non-empty and not '.' or '..'"));
        }
        Ok(Self(s.to_string()))
    }

    /// Where a reference photo is stored: by content, so the same photo is stored once.
    pub fn reference(sha: &Sha256, ext: &str) -> Self {
        Self(format!("references/{sha}.{ext}"))
    }
    /// The reel's fixed voice-over audio.
    pub fn voice_over(reel: &ReelId) -> Self {
        Self(format!("reels/{reel}/voice-over.wav"))
    }
    /// One attempt at one shot, as mirrored from the provider.
    pub fn clip(reel: &ReelId, shot: u32, attempt: u32) -> Self {
        Self(format!("reels/{reel}/shots/{shot:02}/attempt-{attempt}.mp4"))
    }
    /// The assembled reel of a given assembly round.
    pub fn reel_video(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.mp4"))
    }
    /// Captions burned into the reel (kept for review and re-assembly).
    pub fn captions(reel: &ReelId) -> Self {
        Self(format!("reels/{reel}/captions.ass"))
    }
    /// Where a published reel is served from: one stable path per product.
    pub fn published(product: &Handle) -> Self {
        Self(format!("public/{product}.mp4"))
    }
}

impl JobId {
    /// A job id we made ourselves (always valid).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// A job id as a provider or a message gives it: 1 to 256 of `A-Za-z0-9._:-`, never `..`,
    /// so it is safe in URLs and file names.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = !s.is_empty()
            && s.len() <= 256
            && !s.contains("..")
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidId {
                what: "job id",
                value: s.to_string(),
                reason: "only letters, digits and . _ : - are allowed",
            })
        }
    }
}

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if s.is_empty() || s.len() > 512 || s.contains("..") || s.chars().any(char::is_control) {
            return Err(InvalidId {
                what: "idempotency key",
                value: s.to_string(),
                reason: "must be 1 to 512 printable characters",
            });
        }
        Ok(Self(s.to_string()))
    }

    pub fn for_shot(reel: &ReelId, shot: u32, attempt: u32, operation: &str) -> Self {
        Self(format!("{reel}/shot-{shot:02}/attempt-{attempt}/{operation}"))
    }
    pub fn for_reel(reel: &ReelId, operation: &str) -> Self {
        Self(format!("{reel}/{operation}"))
    }
    /// A stable, filesystem- and provider-safe token derived from the key.
    pub fn token(&self) -> String {
        Sha256::of(self.0.as_bytes()).short(32).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_reject_path_tricks() {
        assert!(Handle::parse("pullover-hoodie").is_ok());
        for bad in ["", "../etc", "Upper", "a/b", "a b"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn blob_keys_stay_inside_the_store() {
        assert!(BlobKey::parse("reels/x/reel-1.mp4").is_ok());
        for bad in ["/etc/passwd", "a/../b", "a//b", "./a", "a\\b", ""] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reel_ids_round_trip_to_their_product() {
        let h = Handle::parse("tee").unwrap();
        let id = ReelId::new(&h, &Sha256::of(b"gallery"));
        assert_eq!(id.product(), h);
        assert_eq!(ReelId::parse(id.as_str()).unwrap(), id);
        assert!(ReelId::parse("tee--xyz").is_err());
    }

    #[test]
    fn ids_are_checked_when_a_message_is_parsed() {
        assert!(serde_json::from_str::<Handle>(r#""../x""#).is_err());
        assert!(serde_json::from_str::<JobId>(r#""../../etc/passwd""#).is_err());
        assert!(serde_json::from_str::<BlobKey>(r#""/etc/passwd""#).is_err());
        let h: Handle = serde_json::from_str(r#""tee""#).unwrap();
        assert_eq!(serde_json::to_string(&h).unwrap(), r#""tee""#);
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(Sha256::of(b"abc").as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
