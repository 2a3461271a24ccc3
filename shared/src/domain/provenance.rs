//! Provenance: how a reel's picture came to be, written into the reel file itself (metadata tags, after
//! the last encode) and into a JSON sidecar manifest next to it. See `docs/provenance.md`.

use super::{BlobKey, Handle, JobId, ReelId, Sha256};
use serde::{Deserialize, Serialize};

/// The IPTC NewsCodes prefix of every digital source type.
pub const IPTC_DIGITAL_SOURCE_TYPE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/// The IPTC digital source type of a reel's picture (`http://cv.iptc.org/newscodes/digitalsourcetype/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DigitalSourceType {
    /// `compositeWithTrainedAlgorithmicMedia`: a real photo animated by a video model (at least one
    /// clip came from a provider other than the offline renderer).
    CompositeWithTrainedAlgorithmicMedia,
    /// `compositeCapture`, "mix or composite of several elements that are all captures of real life":
    /// every clip is the offline still-motion renderer's camera move over a real product photo. No
    /// pixel is invented: each frame is a crop of a photograph, scaled, and several photos are cut
    /// together. Not `digitalCapture` (that claims one unedited recording of a real scene, and a reel
    /// is neither unedited nor a recording), not `algorithmicMedia` ("created purely by an algorithm
    /// not based on any sampled training data", i.e. content made by a formula, while ours is sampled
    /// from photos) and not the catch-all `composite` (for when one cannot tell whether generative AI
    /// took part; we can).
    CompositeCapture,
}

impl DigitalSourceType {
    /// The IPTC code (`compositeCapture`).
    pub fn code(self) -> &'static str {
        match self {
            Self::CompositeWithTrainedAlgorithmicMedia => "compositeWithTrainedAlgorithmicMedia",
            Self::CompositeCapture => "compositeCapture",
        }
    }

    /// The IPTC URL, the value platforms and C2PA read.
    pub fn iptc_url(self) -> String {
        format!("{IPTC_DIGITAL_SOURCE_TYPE}{}", self.code())
    }

    /// The type of a reel whose clips came from `providers`: model-animated as soon as one clip is not
    /// the offline still-motion renderer's.
    pub fn for_providers<'a>(providers: impl IntoIterator<Item = &'a str>) -> Self {
        if providers.into_iter().all(|p| p == STILL_MOTION) {
            Self::CompositeCapture
        } else {
            Self::CompositeWithTrainedAlgorithmicMedia
        }
    }
}

/// The provider name of the offline renderer (a camera move over a photo, no model).
pub const STILL_MOTION: &str = "still-motion";

/// What is written into a reel file's metadata after its last encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub source_type: DigitalSourceType,
    /// A short line naming the generator (`comment` tag).
    pub generator: String,
    /// The SHA-256 of the reel's sidecar [`Manifest`] JSON (`truereel_manifest` tag).
    pub manifest_sha256: Sha256,
}

/// The per-reel JSON sidecar: where every shot came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub reel: ReelId,
    pub product: Handle,
    /// The assembly round the manifest describes (`reel-<round>.mp4`).
    pub round: u32,
    /// Milliseconds since the Unix epoch (the project's one clock format).
    pub created_ms: i64,
    /// [`DigitalSourceType::iptc_url`].
    pub digital_source_type: String,
    /// Which voice spoke the voice-over (a speech synthesiser: `espeak-ng:en-us`, `piper:...`).
    pub voice: String,
    pub shots: Vec<ManifestShot>,
}

/// One shot of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestShot {
    pub index: u32,
    pub provider: String,
    /// The model, when the provider says which (`None` for the offline renderer).
    pub model: Option<String>,
    pub job: JobId,
    pub reference_sha256: Sha256,
    /// The store URL the reference photo was taken from (`None` if the reference is no longer listed).
    pub reference_url: Option<String>,
    pub clip: BlobKey,
    pub clip_sha256: Sha256,
}

impl Manifest {
    /// The manifest as stored: pretty JSON with a final newline. Its SHA-256 goes into the reel's tags.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_types_by_provider() {
        assert_eq!(
            DigitalSourceType::for_providers(["still-motion", "still-motion"]),
            DigitalSourceType::CompositeCapture
        );
        let t = DigitalSourceType::for_providers(["still-motion", "runway"]);
        assert_eq!(t.iptc_url(), "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia");
        assert_eq!(
            DigitalSourceType::CompositeCapture.iptc_url(),
            "http://cv.iptc.org/newscodes/digitalsourcetype/compositeCapture"
        );
    }

    #[test]
    fn a_manifest_round_trips() {
        let sha = Sha256::of(b"x");
        let m = Manifest {
            reel: ReelId::new(&Handle::parse("tee").unwrap(), &sha),
            product: Handle::parse("tee").unwrap(),
            round: 2,
            created_ms: 1,
            digital_source_type: DigitalSourceType::CompositeCapture.iptc_url(),
            voice: "espeak-ng:en-us".into(),
            shots: vec![ManifestShot {
                index: 0,
                provider: STILL_MOTION.into(),
                model: None,
                job: JobId::new("local-1"),
                reference_sha256: sha.clone(),
                reference_url: Some("https://shop.example/a.jpg".into()),
                clip: BlobKey::parse("reels/x/shots/00/attempt-1.mp4").unwrap(),
                clip_sha256: sha,
            }],
        };
        let back: Manifest = serde_json::from_slice(&m.to_json()).unwrap();
        assert_eq!(back, m);
    }
}
