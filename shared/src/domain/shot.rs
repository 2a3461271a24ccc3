//! The shot plan: what each shot shows, how the camera moves, and what is said over it.

use super::{Handle, ReelId, Sha256};
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
    pub motion: Motion,
    pub duration_ms: u32,
    /// The spoken line, also the caption.
    pub line: String,
}

/// The shot list of one reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotPlan {
    pub reel: ReelId,
    pub product: Handle,
    pub shots: Vec<Shot>,
}

impl ShotPlan {
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
