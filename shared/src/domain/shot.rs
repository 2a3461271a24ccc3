//! The shot plan: what each shot shows, how the camera moves, and what is said over it.

use super::{BlobKey, Camera, Handle, PhotoKind, ReelId, Sha256};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A camera move over a reference photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    PushIn,
    PullOut,
    PanLeft,
    PanRight,
    TiltUp,
    TiltDown,
}

impl Motion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PushIn => "push_in",
            Self::PullOut => "pull_out",
            Self::PanLeft => "pan_left",
            Self::PanRight => "pan_right",
            Self::TiltUp => "tilt_up",
            Self::TiltDown => "tilt_down",
        }
    }

    /// The same move the other way (a push-in becomes a pull-out, a pan left a pan right).
    pub fn reversed(self) -> Self {
        match self {
            Self::PushIn => Self::PullOut,
            Self::PullOut => Self::PushIn,
            Self::PanLeft => Self::PanRight,
            Self::PanRight => Self::PanLeft,
            Self::TiltUp => Self::TiltDown,
            Self::TiltDown => Self::TiltUp,
        }
    }

    /// The words a video model is given as motion direction.
    pub fn direction(self) -> &'static str {
        match self {
            Self::PushIn => "slow camera push-in towards the product, product unchanged",
            Self::PullOut => "slow camera pull-out revealing the whole product, product unchanged",
            Self::PanLeft => "slow camera pan from right to left across the product, product unchanged",
            Self::PanRight => "slow camera pan from left to right across the product, product unchanged",
            Self::TiltUp => "slow camera tilt from bottom to top along the product, product unchanged",
            Self::TiltDown => "slow camera tilt from top to bottom along the product, product unchanged",
        }
    }
}

impl fmt::Display for Motion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a shot is in the reel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShotRole {
    /// Wide opening, ideally the product worn.
    Opening,
    /// A texture moment on a detail crop.
    Texture,
    /// A clean reveal on a studio frame.
    Reveal,
    /// Another view of the product (back, side, pair).
    View,
    /// The closing call to action.
    CallToAction,
}

/// One shot of a reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    /// 0-based position in the reel.
    pub index: u32,
    pub role: ShotRole,
    /// The real photo this shot is grounded in.
    pub reference: Sha256,
    /// What the reference photo shows.
    pub kind: PhotoKind,
    pub motion: Motion,
    /// The crop window and its move over the photo, decided by the plan and carried out by the
    /// renderer; a provider prompt and the judge read it too.
    pub camera: Camera,
    /// Motion direction for a video model: the camera move, its speed, and what must stay still.
    pub direction: String,
    pub duration_ms: u32,
    /// The spoken line, also the caption.
    pub line: String,
    /// More photos of the same product and colour, for providers that take several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_references: Vec<Sha256>,
}

impl Shot {
    /// The camera move attempt `attempt` makes: the planned one on odd attempts, reversed on even
    /// ones (a retry changes the direction as well as the seed).
    pub fn motion_of_attempt(&self, attempt: u32) -> Motion {
        if attempt % 2 == 1 { self.motion } else { self.motion.reversed() }
    }
}

/// A claim the honesty guard took out of a line, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedClaim {
    /// The shot whose line it was in.
    pub shot: u32,
    /// The claim as written ("100% silk", "$20", "organic").
    pub claim: String,
    /// What kind of claim it is (`material`, `price`, `colour`, `number`, `size`, `care`, `origin`,
    /// `certification`, `avoided_word`).
    pub category: String,
    /// Why it was taken out ("the copy says cotton, not silk").
    pub reason: String,
    /// The line as the writer wrote it.
    pub original: String,
    /// What the line became (`None`: dropped for a line from the copy).
    pub rewritten: Option<String>,
}

/// How good a candidate a product is for generated video.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Suitability {
    /// 0..1.
    pub score: f32,
    pub reasons: Vec<String>,
}

/// The shot list of one reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotPlan {
    pub reel: ReelId,
    pub product: Handle,
    pub shots: Vec<Shot>,
    /// The colour this reel is about, as the store names it, when the product has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The language the lines are in (BCP 47 primary tag).
    #[serde(default = "english")]
    pub language: String,
    /// What the planner decided and why (kinds missing, copy shortened, colour chosen).
    #[serde(default)]
    pub notes: Vec<String>,
    /// What the honesty guard took out of the lines.
    #[serde(default)]
    pub dropped_claims: Vec<DroppedClaim>,
    #[serde(default)]
    pub suitability: Suitability,
    /// A poor candidate kept on the offline renderer (`--min-suitability`): no paid video model.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline_only: bool,
    /// One clip for the whole reel: a single shot spanning it, grounded in its main photo and
    /// the shot's [`Shot::extra_references`]; the lines keep their own times in the voice-over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_reel: bool,
    /// The brand kit's style images, stored for providers that take style references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub style_images: Vec<BlobKey>,
    /// The video providers in the order this reel tries them: the chain reordered by what passes
    /// for the brand ([`crate::learning::order_providers`]); empty: the chain's own order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
}

fn english() -> String {
    "en".into()
}

impl ShotPlan {
    /// A plan of `shots` in English with nothing more to say about it.
    pub fn new(reel: ReelId, product: Handle, shots: Vec<Shot>) -> Self {
        Self {
            reel,
            product,
            shots,
            variant: None,
            language: english(),
            notes: Vec::new(),
            dropped_claims: Vec::new(),
            suitability: Suitability::default(),
            offline_only: false,
            whole_reel: false,
            providers: Vec::new(),
            style_images: Vec::new(),
        }
    }

    pub fn duration_ms(&self) -> u32 {
        self.shots.iter().map(|s| s.duration_ms).sum()
    }

    /// Where each shot starts in the reel, in ms.
    pub fn starts_ms(&self) -> Vec<u32> {
        let mut at = 0;
        self.shots
            .iter()
            .map(|s| {
                let start = at;
                at += s.duration_ms;
                start
            })
            .collect()
    }
}
