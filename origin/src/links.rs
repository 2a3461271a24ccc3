//! The public URL layout, one for both homes: the URL path `/reels/<rest>` is the blob
//! `public/reels/<rest>`, served by `truereel serve` from `blobs/public/reels/` and by CloudFront from
//! `s3://<bucket>/public/reels/` (`OriginPath: /public`), with the same cache rules.

use truereel::{BlobKey, ReelId};

/// The one public prefix of the blob store: what CloudFront's origin path points at.
pub const PUBLIC_PREFIX: &str = "public";

/// The URL path prefix of published reels and posters.
pub const REELS_PATH: &str = "/reels/";

/// A stable URL (`/reels/<handle>.mp4`, `/reels/<handle>.jpg`): always the current version, so a
/// player or a CDN asks again after a minute and a safety pass reaches every embed within one.
pub const STABLE_CACHE_CONTROL: &str = "public, max-age=60";

/// A version URL (`/reels/<handle>/v<n>.mp4`): its bytes never change.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// How long a public URL may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// The stable URL of a reel or poster: [`STABLE_CACHE_CONTROL`].
    Stable,
    /// One version's own URL: [`IMMUTABLE_CACHE_CONTROL`].
    Immutable,
}

impl Caching {
    /// The cache class of a public URL path: `/reels/<name>/v<n>…` is one version's, anything else a
    /// stable URL.
    pub fn of(url_path: &str) -> Self {
        let rest = url_path.strip_prefix(REELS_PATH).unwrap_or(url_path);
        match rest.split_once('/') {
            Some((_, file)) if is_version_file(file) => Caching::Immutable,
            _ => Caching::Stable,
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Caching::Stable => STABLE_CACHE_CONTROL,
            Caching::Immutable => IMMUTABLE_CACHE_CONTROL,
        }
    }
}

/// `v<digits>.<ext>` or `v<digits>.<shape>.<ext>`.
fn is_version_file(file: &str) -> bool {
    let Some(rest) = file.strip_prefix('v') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with('.') && !file.contains('/')
}

/// The URL path of a public blob (`public/reels/tee.mp4` → `/reels/tee.mp4`); `None` for a key that
/// is not public.
pub fn url_path(key: &BlobKey) -> Option<String> {
    let rest = key.as_str().strip_prefix(PUBLIC_PREFIX)?.strip_prefix('/')?;
    rest.starts_with(REELS_PATH.trim_start_matches('/')).then(|| format!("/{rest}"))
}

/// The public URLs of reels on one base (the brand's domain, or `http://<bind>` locally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    base: String,
}

impl PublicUrls {
    /// URLs under `base` (a trailing `/` is dropped).
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string() }
    }

    /// The base, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of a public blob; `None` for a key that is not public.
    pub fn of(&self, key: &BlobKey) -> Option<String> {
        url_path(key).map(|p| format!("{}{p}", self.base))
    }

    /// The stable URL of `reel` (what embeds use).
    pub fn stable(&self, reel: &ReelId) -> String {
        self.public(&BlobKey::published_reel(reel))
    }

    /// Version `n`'s own URL.
    pub fn version(&self, reel: &ReelId, n: u32) -> String {
        self.public(&BlobKey::published_version(reel, n, None))
    }

    /// The stable poster (`None`) or version `n`'s poster.
    pub fn poster(&self, reel: &ReelId, version: Option<u32>) -> String {
        self.public(&BlobKey::published_poster(reel, version))
    }

    fn public(&self, key: &BlobKey) -> String {
        self.of(key).expect("published keys are public")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truereel::{Handle, Sha256, VariantSlug};

    #[test]
    fn published_keys_map_to_reels_urls_and_nothing_else_is_public() {
        let id = ReelId::new(&Handle::parse("tee").unwrap(), &Sha256::of(b"g"));
        let urls = PublicUrls::new("https://video.brand.com/");
        assert_eq!(urls.stable(&id), "https://video.brand.com/reels/tee.mp4");
        assert_eq!(urls.version(&id, 2), "https://video.brand.com/reels/tee/v2.mp4");
        assert_eq!(urls.poster(&id, None), "https://video.brand.com/reels/tee.jpg");
        assert_eq!(urls.poster(&id, Some(2)), "https://video.brand.com/reels/tee/v2.jpg");
        let black = ReelId::for_variant(
            &Handle::parse("tee").unwrap(),
            Some(&VariantSlug::parse("black").unwrap()),
            &Sha256::of(b"g"),
        );
        assert_eq!(urls.stable(&black), "https://video.brand.com/reels/tee.black.mp4");
        for private in [BlobKey::reel_video(&id, 1), BlobKey::voice_over(&id), BlobKey::parse("public").unwrap()] {
            assert_eq!(url_path(&private), None, "{private}");
        }
        assert_eq!(url_path(&BlobKey::parse("public/other/x.mp4").unwrap()), None);
    }

    #[test]
    fn version_urls_are_immutable_and_the_rest_stable() {
        for immutable in ["/reels/tee/v1.mp4", "/reels/tee/v12.jpg", "/reels/tee.black/v3.4x5.mp4"] {
            assert_eq!(Caching::of(immutable), Caching::Immutable, "{immutable}");
        }
        for stable in ["/reels/tee.mp4", "/reels/v1.mp4", "/reels/tee.jpg", "/reels/tee/vx.mp4", "/reels/tee/v.mp4"] {
            assert_eq!(Caching::of(stable), Caching::Stable, "{stable}");
        }
    }
}
