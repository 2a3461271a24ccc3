//! The brand kit: how a brand wants its reels to sound and look (`brand.toml`, read by
//! `config::brand`). The planner, writer, voice and assembly all read it; the local judge its
//! thresholds.

use super::Thresholds;
use serde::{Deserialize, Serialize};

/// Where captions sit in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionPosition {
    /// Above the platform's bottom controls (the default).
    #[default]
    Lower,
    Middle,
    /// Below the platform's top bar.
    Upper,
}

/// How captions look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionStyle {
    /// A font family fontconfig knows; `None` picks one that has the script's glyphs.
    pub font: Option<String>,
    /// Text colour.
    pub colour: [u8; 3],
    /// Outline colour.
    pub outline: [u8; 3],
    pub position: CaptionPosition,
}

impl Default for CaptionStyle {
    fn default() -> Self {
        Self { font: None, colour: [255, 255, 255], outline: [0, 0, 0], position: CaptionPosition::Lower }
    }
}

/// The brand's voice choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandVoice {
    /// A voice name the configured engine knows (`en_US-joe-medium`, `en-us`, `Joanna`, ...); `None`
    /// lets the copy's language pick.
    pub name: Option<String>,
    /// Speaking rate relative to the voice's natural pace (0.5–2.0).
    pub rate: f32,
}

impl Default for BrandVoice {
    fn default() -> Self {
        Self { name: None, rate: 1.0 }
    }
}

/// One brand's kit. Every field has a default, so a store without `brand.toml` plans as before.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BrandKit {
    /// The brand's name as it is to be said and shown; `None`: the product's vendor, if any.
    pub name: Option<String>,
    /// The closing line's call to action; `None`: "Tap to shop." (in the copy's language when known).
    pub call_to_action: Option<String>,
    pub caption: CaptionStyle,
    pub voice: BrandVoice,
    /// Words and phrases never said or shown (matched whole-word, any case).
    pub avoid: Vec<String>,
    /// Words always written the brand's way: `(as a store might write it, the brand's way)`,
    /// matched whole-word in any case ("tshirt" → "T-Shirt").
    pub say: Vec<(String, String)>,
    /// The language of the reels (BCP 47 primary tag, `en`, `ja`); `None`: detected from the copy.
    pub language: Option<String>,
    /// Tone and styling images (paths resolved against the kit's folder, or URLs), for providers
    /// that take style references.
    pub reference_images: Vec<String>,
    /// The video providers this brand's reels use, in order of preference (names from
    /// `TRUEREEL_VIDEO_PROVIDER`'s list); empty: the configured chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_provider: Vec<String>,
    /// One clip for the whole reel from a provider that makes product ads from several photos
    /// (Runway's `product_ad` recipe), instead of one clip per shot (`whole_reel = true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_reel: bool,
    /// Reel length bounds in ms, inside the program's 6–60 s.
    pub min_reel_ms: Option<u32>,
    pub max_reel_ms: Option<u32>,
    /// The brand's own limits for the local judge's measured checks (`truereel calibrate` fits
    /// them); empty: the judge's defaults.
    #[serde(default, skip_serializing_if = "Thresholds::is_empty")]
    pub thresholds: Thresholds,
}
