//! Reels and their status machine: (awaiting_approval →) planned → generating → assembled → evaluated →
//! published / needs_review; a platform flag reopens a published reel (published → generating) for a
//! safety pass that publishes a new version.

use super::{BlobKey, Handle, PlanOptions, ReelId, Sha256, ShotPlan, VoiceOver};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReelStatus {
    /// Planned and voiced, stopped for a person to read the script and listen (`--approve-plan`);
    /// nothing is paid for until `truereel approve`. `truereel reject` plans it again.
    AwaitingApproval,
    /// Shot list and voice-over exist; no clip was asked for yet.
    Planned,
    /// Clips are being made or mirrored.
    Generating,
    /// Every shot has a clip and the reel video exists.
    Assembled,
    /// The evaluator has judged the latest assembly.
    Evaluated,
    /// Passed and served. At rest, until a platform flag reopens it for a safety pass (its current
    /// version stays served meanwhile).
    Published,
    /// Parked for a person, with reasons. At rest until a person acts: publishes its cut over the
    /// judge, or sends shots back to video.
    NeedsReview,
}

impl ReelStatus {
    pub const ALL: [ReelStatus; 7] = [
        Self::AwaitingApproval,
        Self::Planned,
        Self::Generating,
        Self::Assembled,
        Self::Evaluated,
        Self::Published,
        Self::NeedsReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingApproval => "awaiting_approval",
            Self::Planned => "planned",
            Self::Generating => "generating",
            Self::Assembled => "assembled",
            Self::Evaluated => "evaluated",
            Self::Published => "published",
            Self::NeedsReview => "needs_review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Published | Self::NeedsReview)
    }

    /// Whether the machine allows `self → to`.
    pub fn can_become(self, to: ReelStatus) -> bool {
        use ReelStatus::*;
        matches!(
            (self, to),
            (AwaitingApproval, Planned)
                | (AwaitingApproval, NeedsReview)
                // A rejected plan is planned again and waits for approval again.
                | (AwaitingApproval, AwaitingApproval)
                | (Planned, Generating)
                | (Generating, Assembled)
                | (Assembled, Evaluated)
                | (Evaluated, Published)
                // A failed evaluation regenerates the failing shots (the audio stays).
                | (Evaluated, Generating)
                | (Evaluated, NeedsReview)
                // A platform flag reopens a published reel: its flagged shots are made again.
                | (Published, Generating)
                // Budget refusals, provider rejections and broken clips park a reel early.
                | (Planned, NeedsReview)
                | (Generating, NeedsReview)
                | (Assembled, NeedsReview)
                // A person publishes a parked cut over the judge's verdict…
                | (NeedsReview, Published)
                // …or sends its shots back to video.
                | (NeedsReview, Generating)
        )
    }

    /// Checks `self → to` against the machine.
    pub fn check(self, to: ReelStatus) -> Result<(), TransitionError> {
        if self.can_become(to) { Ok(()) } else { Err(TransitionError { from: self, to }) }
    }
}

impl fmt::Display for ReelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition the status machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a reel cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: ReelStatus,
    pub to: ReelStatus,
}

/// One reel of one product's gallery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reel {
    pub id: ReelId,
    pub product: Handle,
    pub gallery_hash: Sha256,
    pub status: ReelStatus,
    pub plan: ShotPlan,
    pub voice_over: VoiceOver,
    /// The current attempt of each shot (1-based), indexed by shot.
    pub shot_attempts: Vec<u32>,
    /// How many times the reel was assembled; the latest video is `reel-<round>.mp4`.
    pub round: u32,
    pub video: Option<BlobKey>,
    pub published: Option<BlobKey>,
    /// Why the reel needs a person, when it does.
    pub reasons: Vec<String>,
    /// How many times the plan was made (1 = first); a rejection plans it again.
    #[serde(default = "first_revision")]
    pub revision: u32,
    /// Why a person rejected earlier plans, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<String>,
    /// How the reel was planned, so a replan after a rejection plans alike.
    #[serde(default)]
    pub options: PlanOptions,
    /// Every version published, oldest first; the last one not retired is the one served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
    /// The platform flags that reopened the reel, oldest first (each one safety pass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Reel {
    pub fn new(plan: ShotPlan, voice_over: VoiceOver, gallery_hash: Sha256) -> Self {
        let now = super::now_ms();
        Self {
            id: plan.reel.clone(),
            product: plan.product.clone(),
            gallery_hash,
            status: ReelStatus::Planned,
            shot_attempts: vec![1; plan.shots.len()],
            plan,
            voice_over,
            round: 0,
            video: None,
            published: None,
            reasons: Vec::new(),
            revision: 1,
            rejections: Vec::new(),
            options: PlanOptions::default(),
            versions: Vec::new(),
            flags: Vec::new(),
            created_ms: now,
            updated_ms: now,
        }
    }
}

fn first_revision() -> u32 {
    1
}

impl Reel {
    /// The version its stable URL serves, if it was ever published.
    pub fn current_version(&self) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.retired_ms.is_none())
    }
}

/// One published cut of a reel: its own immutable file, kept when a later version replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// 1, 2, …
    pub version: u32,
    /// The assembly round published.
    pub round: u32,
    /// Its immutable file (`public/reels/<handle>/v<version>.mp4`, its poster `…/v<version>.jpg`); the stable
    /// file is a copy of the current one.
    pub file: BlobKey,
    pub published_ms: i64,
    /// When a later version replaced it (kept, no longer linked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_ms: Option<i64>,
    /// The flag it answers, for a version made by a safety pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Why a person published it over the judge (a parked cut), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overruled: Option<String>,
}

/// A platform's flag on a published reel (an ad validator's refusal, a person's report): the
/// reason, the shots it names (every shot when none), and its id so a redelivered flag is one pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub id: String,
    pub reason: String,
    /// The shots reopened, numbered from 1 as `truereel plan` and `status` show them.
    pub shots: Vec<u32>,
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::ReelStatus::*;

    #[test]
    fn states_at_rest_leave_only_by_a_flag_or_a_person() {
        for to in super::ReelStatus::ALL {
            assert_eq!(Published.can_become(to), to == Generating, "published -> {to}");
            assert_eq!(NeedsReview.can_become(to), matches!(to, Published | Generating), "needs_review -> {to}");
        }
    }

    #[test]
    fn the_happy_path_is_allowed_and_skipping_is_not() {
        assert!(Planned.can_become(Generating));
        assert!(Generating.can_become(Assembled));
        assert!(Assembled.can_become(Evaluated));
        assert!(Evaluated.can_become(Published));
        assert!(Planned.check(Published).is_err());
        assert!(Generating.check(Published).is_err());
        assert!(Assembled.check(Published).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in super::ReelStatus::ALL {
            assert_eq!(super::ReelStatus::parse(s.as_str()), Some(s));
        }
    }
}
