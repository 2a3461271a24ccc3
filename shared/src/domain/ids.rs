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
    /// A reel: `<handle>--<first 12 hex of the gallery hash>`, so one gallery state has one reel. Read from
    /// the right (the hash is a fixed-length suffix): a handle may itself hold `--` or end in `-`.
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

string_id!(
    /// A colour variant's name in ids and file names: lowercase letters, digits and `-` ("light-blue").
    VariantSlug
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

impl VariantSlug {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let bad = |reason| InvalidId { what: "variant name", value: s.to_string(), reason };
        if s.is_empty() || s.len() > 60 {
            return Err(bad("must be 1 to 60 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') || s.contains("--") {
            return Err(bad("only lowercase letters, digits and single '-' are allowed"));
        }
        Ok(Self(s.to_string()))
    }

    /// A slug from a store's option value ("Light Blue" → `light-blue`); a value with no ASCII letters
    /// or digits ("赤") becomes `v<variant id>`.
    pub fn from_name(name: &str, variant_id: u64) -> Self {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            if out.len() >= 48 {
                break;
            }
        }
        let out = out.trim_end_matches('-').to_string();
        if out.is_empty() { Self(format!("v{variant_id}")) } else { Self(out) }
    }
}

impl Sha256 {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(hex(&sha2::Sha256::digest(bytes)))
    }

    /// The SHA-256 of a file, read in 64 KiB pieces (memory stays flat whatever its size).
    pub async fn of_file(path: &std::path::Path) -> std::io::Result<Self> {
        use sha2::Digest;
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await?;
        let (mut hasher, mut buf) = (sha2::Sha256::new(), vec![0u8; 64 * 1024]);
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok(Self(hex(&hasher.finalize())));
            }
            hasher.update(&buf[..n]);
        }
    }

    /// The SHA-256 of what `hasher` was fed.
    pub fn finish(hasher: sha2::Sha256) -> Self {
        use sha2::Digest;
        Self(hex(&hasher.finalize()))
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

/// The hex digits of the gallery hash at the end of a reel id.
const REEL_HASH_LEN: usize = 12;
/// Between the handle and the hash. A handle may itself contain `--` or end in `-`, so a reel id is
/// split from the right, at a fixed length, never at the first separator.
const REEL_SEPARATOR: &str = "--";

/// Between the handle and a colour variant in a reel id or a published file name; never in a handle.
const VARIANT_SEPARATOR: char = '.';

impl ReelId {
    pub fn new(product: &Handle, gallery_hash: &Sha256) -> Self {
        Self(format!("{product}{REEL_SEPARATOR}{}", gallery_hash.short(REEL_HASH_LEN)))
    }

    /// The reel of one colour variant (`--per-variant`): `<handle>.<variant>--<hash>`.
    pub fn for_variant(product: &Handle, variant: Option<&VariantSlug>, gallery_hash: &Sha256) -> Self {
        match variant {
            None => Self::new(product, gallery_hash),
            Some(v) => {
                Self(format!("{product}{VARIANT_SEPARATOR}{v}{REEL_SEPARATOR}{}", gallery_hash.short(REEL_HASH_LEN)))
            }
        }
    }

    /// The colour variant this reel is about, when it is one of several per-variant reels.
    pub fn variant(&self) -> Option<VariantSlug> {
        let (head, _) = Self::split(&self.0)?;
        head.split_once(VARIANT_SEPARATOR).map(|(_, v)| VariantSlug(v.to_string()))
    }

    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let bad = |reason| InvalidId { what: "reel id", value: s.to_string(), reason };
        let (handle, hash) = Self::split(s).ok_or_else(|| bad("expected <handle>--<12 hex digits>"))?;
        let (handle, variant) = match handle.split_once(VARIANT_SEPARATOR) {
            Some((h, v)) => (h, Some(v)),
            None => (handle, None),
        };
        Handle::parse(handle).map_err(|_| bad("the handle part is not a valid handle"))?;
        if let Some(v) = variant {
            VariantSlug::parse(v).map_err(|_| bad("the variant part is not a valid variant name"))?;
        }
        if !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad("the hash part must be 12 lowercase hex digits"));
        }
        Ok(Self(s.to_string()))
    }

    /// `(handle, hash)`: the hash is the last 12 characters, the separator the two before them.
    fn split(s: &str) -> Option<(&str, &str)> {
        let hash_at = s.len().checked_sub(REEL_HASH_LEN)?;
        let handle_end = hash_at.checked_sub(REEL_SEPARATOR.len())?;
        let (head, hash) = (s.get(..hash_at)?, s.get(hash_at..)?);
        head.ends_with(REEL_SEPARATOR).then(|| (&s[..handle_end], hash))
    }

    /// The product this reel is for.
    pub fn product(&self) -> Handle {
        let (head, _) = Self::split(&self.0).expect("a parsed reel id has a handle and a hash");
        let handle = head.split_once(VARIANT_SEPARATOR).map_or(head, |(h, _)| h);
        Handle(handle.to_string())
    }

    /// The first 12 hex digits of the gallery hash this reel was planned on.
    pub fn gallery_hash(&self) -> &str {
        let (_, hash) = Self::split(&self.0).expect("a parsed reel id has a handle and a hash");
        hash
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
    /// A still-motion shot's recipe (see [`super::Clip::recipe`]), where a video clip would be.
    pub fn clip_recipe(reel: &ReelId, shot: u32, attempt: u32) -> Self {
        Self(format!("reels/{reel}/shots/{shot:02}/attempt-{attempt}.json"))
    }
    /// The assembled reel of a given assembly round.
    pub fn reel_video(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.mp4"))
    }
    /// The voice-over `voice_over` encoded to AAC (`.m4a`) once, next to it: every assembly of the reel
    /// muxes these same bytes. `reels/x/voice-over.wav` → `reels/x/voice-over.m4a`.
    pub fn voice_over_aac(voice_over: &BlobKey) -> Self {
        let stem = voice_over.0.strip_suffix(".wav").unwrap_or(&voice_over.0);
        Self(format!("{stem}.m4a"))
    }
    /// The reel in another shape (`4x5`, `1x1`), next to its 9:16 video.
    pub fn reel_video_aspect(reel: &ReelId, round: u32, aspect: &str) -> Self {
        Self(format!("reels/{reel}/reel-{round}.{aspect}.mp4"))
    }
    /// The poster frame (JPEG) of an assembled reel, next to its video.
    pub fn reel_poster(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.jpg"))
    }
    /// The thumbnails the assembly wrote beside the reel (10 frames a second): what the judge
    /// looks at.
    pub fn reel_thumbnails(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.thumbnails.mkv"))
    }
    /// The contact sheet (PNG) of a judged round: each shot's photo beside frames of it, with the
    /// verdict and its scores.
    pub fn reel_contact_sheet(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.sheet.png"))
    }
    /// The brand kit's `n`th style image, stored with a whole-reel plan for its provider.
    pub fn style_image(reel: &ReelId, n: u32) -> Self {
        Self(format!("reels/{reel}/style-{n}"))
    }
    /// The provenance manifest (JSON sidecar) of an assembled reel, next to its video.
    pub fn reel_manifest(reel: &ReelId, round: u32) -> Self {
        Self(format!("reels/{reel}/reel-{round}.manifest.json"))
    }
    /// The voice-over of a later revision of a plan (after a rejection, before approval).
    pub fn voice_over_revision(reel: &ReelId, revision: u32) -> Self {
        if revision <= 1 { Self::voice_over(reel) } else { Self(format!("reels/{reel}/voice-over-{revision}.wav")) }
    }
    /// A planned voice-over that `truereel plan` made so a person can listen (no reel is created).
    pub fn preview_voice_over(reel: &ReelId) -> Self {
        Self(format!("previews/{reel}/voice-over.wav"))
    }
    /// Captions burned into the reel (kept for review and re-assembly).
    pub fn captions(reel: &ReelId) -> Self {
        Self(format!("reels/{reel}/captions.ass"))
    }
    /// The published file of the reel in another shape: `public/reels/<handle>[.<variant>].<aspect>.mp4`.
    pub fn published_aspect(reel: &ReelId, aspect: &str) -> Self {
        Self(format!("{}.{aspect}.mp4", Self::published_stem(reel)))
    }
    /// The immutable file of one published version of `reel` (`public/reels/<handle>[.<variant>]/v<n>.mp4`),
    /// or of its shape `aspect` (`…/v<n>.4x5.mp4`); the stable file is a copy of the current version.
    pub fn published_version(reel: &ReelId, version: u32, aspect: Option<&str>) -> Self {
        let dir = Self::published_stem(reel);
        match aspect {
            None => Self(format!("{dir}/v{version}.mp4")),
            Some(a) => Self(format!("{dir}/v{version}.{a}.mp4")),
        }
    }
    /// The poster (JPEG) of a published reel: the stable one beside the stable file
    /// (`public/reels/<handle>[.<variant>].jpg`, a copy of the current version's) with `None`, or version
    /// `n`'s immutable one (`public/reels/<handle>[.<variant>]/v<n>.jpg`).
    pub fn published_poster(reel: &ReelId, version: Option<u32>) -> Self {
        let stem = Self::published_stem(reel);
        match version {
            None => Self(format!("{stem}.jpg")),
            Some(n) => Self(format!("{stem}/v{n}.jpg")),
        }
    }
    /// Where a published reel is served from: one stable path per product (and colour variant, for
    /// per-variant reels: `public/reels/<handle>.<variant>.mp4`). Everything under `public/` is public:
    /// CloudFront serves it through `OriginPath: /public` and `truereel serve` from `blobs/public/`, both
    /// at `/reels/<handle>.mp4`.
    pub fn published_reel(reel: &ReelId) -> Self {
        Self(format!("{}.mp4", Self::published_stem(reel)))
    }
    /// `public/reels/<handle>[.<variant>]`: what every published file of `reel` is named from.
    fn published_stem(reel: &ReelId) -> String {
        match reel.variant() {
            None => format!("{PUBLISHED}/{}", reel.product()),
            Some(v) => format!("{PUBLISHED}/{}{VARIANT_SEPARATOR}{v}", reel.product()),
        }
    }
}

/// Where published reels live in the blob store; `public/` is the one public prefix.
const PUBLISHED: &str = "public/reels";

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
    /// A key derived from this one (`<key><suffix>`): a charge's refund, a charge per provider.
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}{suffix}", self.0))
    }
    /// A stable, filesystem- and provider-safe token derived from the key.
    pub fn token(&self) -> String {
        Sha256::of(self.0.as_bytes()).short(32).to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
    fn reel_side_files_sit_next_to_their_video() {
        let id = ReelId::new(&Handle::parse("tee").unwrap(), &Sha256::of(b"g"));
        let aac = BlobKey::voice_over_aac(&BlobKey::voice_over_revision(&id, 2));
        assert_eq!(aac.as_str(), format!("reels/{id}/voice-over-2.m4a"));
        assert_eq!(BlobKey::voice_over_aac(&BlobKey::parse("a/b").unwrap()).as_str(), "a/b.m4a");
        assert_eq!(BlobKey::reel_poster(&id, 3).as_str(), format!("reels/{id}/reel-3.jpg"));
        assert_eq!(BlobKey::reel_manifest(&id, 3).as_str(), format!("reels/{id}/reel-3.manifest.json"));
        assert_eq!(BlobKey::reel_contact_sheet(&id, 3).as_str(), format!("reels/{id}/reel-3.sheet.png"));
        for k in
            [aac, BlobKey::reel_poster(&id, 3), BlobKey::reel_manifest(&id, 3), BlobKey::reel_contact_sheet(&id, 3)]
        {
            assert!(BlobKey::parse(k.as_str()).is_ok(), "{k}");
        }
    }

    #[test]
    fn published_files_sit_under_public_reels_with_their_posters_beside_them() {
        let hash = Sha256::of(b"g");
        let id = ReelId::new(&Handle::parse("tee").unwrap(), &hash);
        let black =
            ReelId::for_variant(&Handle::parse("tee").unwrap(), Some(&VariantSlug::parse("black").unwrap()), &hash);
        let keys = [
            (BlobKey::published_reel(&id), "public/reels/tee.mp4"),
            (BlobKey::published_version(&id, 2, None), "public/reels/tee/v2.mp4"),
            (BlobKey::published_version(&id, 2, Some("4x5")), "public/reels/tee/v2.4x5.mp4"),
            (BlobKey::published_aspect(&id, "1x1"), "public/reels/tee.1x1.mp4"),
            (BlobKey::published_poster(&id, None), "public/reels/tee.jpg"),
            (BlobKey::published_poster(&id, Some(3)), "public/reels/tee/v3.jpg"),
            (BlobKey::published_reel(&black), "public/reels/tee.black.mp4"),
            (BlobKey::published_version(&black, 1, None), "public/reels/tee.black/v1.mp4"),
            (BlobKey::published_poster(&black, None), "public/reels/tee.black.jpg"),
            (BlobKey::published_poster(&black, Some(1)), "public/reels/tee.black/v1.jpg"),
        ];
        for (key, want) in keys {
            assert_eq!(key.as_str(), want);
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

    /// Handles a store may send, by the rules of `Handle::parse`: the edge cases by name, then many
    /// generated ones (seeded, so a failure repeats) over the whole alphabet and every length.
    fn handles_a_store_may_send() -> Vec<String> {
        let mut handles: Vec<String> = [
            "-",
            "--",
            "---",
            "tee--red",
            "tee-",
            "-tee",
            "--tee",
            "tee--",
            "a--b--c",
            "0",
            "123456",
            "_",
            "__",
            "-_-",
            "tee_-",
            "tee-0123456789ab",
            "tee--0123456789ab",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        handles.push("-".repeat(200));
        handles.push("a".repeat(200));
        handles.push(format!("{}--", "b".repeat(198)));
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..5000 {
            let len = if rng.bool() { rng.usize(1..=8) } else { rng.usize(1..=200) };
            // Half the time from `-` alone and one letter, so runs of `-` are common.
            let pick: &[u8] = if rng.bool() { b"-a" } else { alphabet };
            handles.push((0..len).map(|_| pick[rng.usize(..pick.len())] as char).collect());
        }
        handles
    }

    #[test]
    fn every_handle_a_store_may_send_makes_a_reel_id_that_round_trips() {
        for (i, raw) in handles_a_store_may_send().iter().enumerate() {
            assert_reel_id_round_trips(raw, i);
        }
    }

    /// `ReelId::parse(ReelId::new(handle, hash))` gives the same id, handle and hash, and every key made
    /// from the id is valid. (Storefront tests call this on slugs of unicode titles.)
    pub(crate) fn assert_reel_id_round_trips(raw: &str, i: usize) {
        {
            let handle = Handle::parse(raw).unwrap_or_else(|e| panic!("{raw:?} should be a handle: {e}"));
            let hash = Sha256::of(format!("gallery {i}").as_bytes());
            let id = ReelId::new(&handle, &hash);
            let parsed = ReelId::parse(id.as_str()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(parsed, id, "{raw:?}");
            assert_eq!(parsed.product(), handle, "{raw:?}");
            assert_eq!(parsed.gallery_hash(), hash.short(12), "{raw:?}");
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ReelId>(&json).unwrap(), id, "{raw:?}");
            // Everything made from a reel id stays valid.
            for key in [
                BlobKey::voice_over(&id),
                BlobKey::clip(&id, 1, 2),
                BlobKey::reel_video(&id, 3),
                BlobKey::captions(&id),
                BlobKey::published_reel(&id),
                BlobKey::published_version(&id, 2, Some("4x5")),
                BlobKey::published_poster(&id, None),
                BlobKey::published_poster(&id, Some(2)),
            ] {
                assert_eq!(BlobKey::parse(key.as_str()).unwrap(), key, "{raw:?}");
            }
            let key = IdempotencyKey::for_shot(&id, 1, 2, "submit");
            assert_eq!(IdempotencyKey::parse(key.as_str()).unwrap(), key, "{raw:?}");
        }
    }

    #[test]
    fn reel_ids_without_their_hash_suffix_are_refused() {
        for bad in [
            "tee",
            "tee--",
            "tee-0123456789ab",
            "--0123456789ab",
            "tee--0123456789a",
            "tee--0123456789abc",
            "tee--0123456789AB",
            "Tee--0123456789ab",
            "tee/x--0123456789ab",
            "tee--0123456789-b",
        ] {
            assert!(ReelId::parse(bad).is_err(), "{bad:?} accepted");
        }
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
