//! The messages on the stage queues: one serde type per queue, JSON on the wire.

use crate::ports::{ClipOutput, Stage};
pub use crate::{BelowSuitability, PlanOptions};
use crate::{Handle, JobId, ProductListing, ReelId};
use serde::{Deserialize, Serialize};

/// Crawl: list a store (fan out), or take in one product's photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CrawlMsg {
    /// List the store and enqueue one `Product` message per product (optionally only some handles).
    Store {
        store: String,
        only: Option<Vec<String>>,
        /// Take the photos in but plan nothing (`truereel crawl`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        crawl_only: bool,
        /// How this run's reels are planned.
        #[serde(default)]
        plan: PlanOptions,
    },
    /// Fetch, check and store one product's gallery, then hand it to planning.
    Product {
        store: String,
        /// Boxed: a listing is far larger than the other messages (the wire format is the same).
        listing: Box<ProductListing>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        crawl_only: bool,
        #[serde(default)]
        plan: PlanOptions,
    },
}

/// Plan: shot list, script and voice-over for one product's current gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanMsg {
    pub product: Handle,
    #[serde(default)]
    pub plan: PlanOptions,
    /// Plan this reel again after a person rejected it (its reasons are on the reel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replan: Option<ReelId>,
}

impl PlanMsg {
    /// A first plan of `product`.
    pub fn new(product: Handle, plan: PlanOptions) -> Self {
        Self { product, plan, replan: None }
    }
}

/// Generate: submit one shot attempt, or poll its job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateMsg {
    pub reel: ReelId,
    pub shot: u32,
    pub attempt: u32,
    /// How many times this job was polled (sets the backoff).
    #[serde(default)]
    pub polls: u32,
    /// Jobs of this attempt cancelled after running too long, or failed on the provider's side,
    /// and submitted again (each under its own idempotency key).
    #[serde(default)]
    pub resubmits: u32,
    /// When the job being polled was submitted (its timeout counts from here).
    #[serde(default)]
    pub since_ms: Option<i64>,
}

impl GenerateMsg {
    /// The first message of a shot's attempt.
    pub fn new(reel: ReelId, shot: u32, attempt: u32) -> Self {
        Self { reel, shot, attempt, polls: 0, resubmits: 0, since_ms: None }
    }

    /// The idempotency key of this attempt's current job: reel/shot/attempt, and the resubmission.
    pub fn key(&self) -> crate::IdempotencyKey {
        let operation = if self.resubmits == 0 { "video".to_string() } else { format!("video-{}", self.resubmits) };
        crate::IdempotencyKey::for_shot(&self.reel, self.shot, self.attempt, &operation)
    }
}

/// Mirror: copy one finished clip into our storage, encode the approved voice-over, or assemble the reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MirrorMsg {
    Clip {
        reel: ReelId,
        shot: u32,
        attempt: u32,
        job: JobId,
        output: ClipOutput,
        /// The provider that made it (`None` in messages from before the chain: the first choice).
        #[serde(default)]
        provider: Option<String>,
    },
    Assemble {
        reel: ReelId,
    },
    /// Encode the approved voice-over to AAC, once, while its shots are made (sent with them).
    VoiceOver {
        reel: ReelId,
    },
}

/// Evaluate: judge the reel's latest assembly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateMsg {
    pub reel: ReelId,
    pub round: u32,
}

/// A platform flag on a published reel, on the evaluate queue: from `truereel flag`, or on AWS from
/// the EventBridge rule that turns a `truereel` / `Reel flagged` event into this body
/// (`{"flag": <detail>, "event": "<event id>"}`, see infra/template.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagMsg {
    pub flag: FlagDetail,
    /// The event's id: a redelivered or repeated event is one safety pass.
    pub event: String,
}

/// What a flag says: the reel, why, and which shots (numbered from 1 as `truereel plan` and
/// `status` show them; every shot when none are named).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagDetail {
    pub reel: ReelId,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shots: Vec<u32>,
}

/// Any stage's message, with the queue it belongs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Crawl(CrawlMsg),
    Plan(PlanMsg),
    Generate(GenerateMsg),
    Mirror(MirrorMsg),
    Evaluate(EvaluateMsg),
    Flag(FlagMsg),
}

impl Message {
    pub fn stage(&self) -> Stage {
        match self {
            Message::Crawl(_) => Stage::Crawl,
            Message::Plan(_) => Stage::Plan,
            Message::Generate(_) => Stage::Generate,
            Message::Mirror(_) => Stage::Mirror,
            Message::Evaluate(_) | Message::Flag(_) => Stage::Evaluate,
        }
    }

    /// The reel the message works on, when it works on one.
    pub fn reel(&self) -> Option<&ReelId> {
        match self {
            Message::Crawl(_) | Message::Plan(_) => None,
            Message::Generate(m) => Some(&m.reel),
            Message::Mirror(
                MirrorMsg::Clip { reel, .. } | MirrorMsg::Assemble { reel } | MirrorMsg::VoiceOver { reel },
            ) => Some(reel),
            Message::Evaluate(m) => Some(&m.reel),
            Message::Flag(m) => Some(&m.flag.reel),
        }
    }

    /// Whether the message concerns `who`: a reel id, or a product handle (its reels and its
    /// crawl and plan messages).
    pub fn concerns(&self, who: &str) -> bool {
        self.reel().is_some_and(|r| r.as_str() == who) || self.subject() == who
    }

    /// What the message is about, for reports: a product handle, or the store when listing.
    pub fn subject(&self) -> String {
        match self {
            Message::Crawl(CrawlMsg::Store { store, .. }) => crate::redact(store),
            Message::Crawl(CrawlMsg::Product { listing, .. }) => listing.handle.to_string(),
            Message::Plan(m) => m.product.to_string(),
            Message::Generate(m) => m.reel.product().to_string(),
            Message::Mirror(
                MirrorMsg::Clip { reel, .. } | MirrorMsg::Assemble { reel } | MirrorMsg::VoiceOver { reel },
            ) => reel.product().to_string(),
            Message::Evaluate(m) => m.reel.product().to_string(),
            Message::Flag(m) => m.flag.reel.product().to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        let v = match self {
            Message::Crawl(m) => serde_json::to_string(m),
            Message::Plan(m) => serde_json::to_string(m),
            Message::Generate(m) => serde_json::to_string(m),
            Message::Mirror(m) => serde_json::to_string(m),
            Message::Evaluate(m) => serde_json::to_string(m),
            Message::Flag(m) => serde_json::to_string(m),
        };
        v.expect("messages always serialize")
    }

    /// Parses a body received on `stage`'s queue.
    pub fn parse(stage: Stage, body: &str) -> Result<Message, serde_json::Error> {
        Ok(match stage {
            Stage::Crawl => Message::Crawl(serde_json::from_str(body)?),
            Stage::Plan => Message::Plan(serde_json::from_str(body)?),
            Stage::Generate => Message::Generate(serde_json::from_str(body)?),
            Stage::Mirror => Message::Mirror(serde_json::from_str(body)?),
            // A flag carries a `flag` object; a judging message never does.
            Stage::Evaluate => match serde_json::from_str::<serde_json::Value>(body)?.get("flag") {
                Some(_) => Message::Flag(serde_json::from_str(body)?),
                None => Message::Evaluate(serde_json::from_str(body)?),
            },
        })
    }
}

impl From<CrawlMsg> for Message {
    fn from(m: CrawlMsg) -> Self {
        Message::Crawl(m)
    }
}
impl From<PlanMsg> for Message {
    fn from(m: PlanMsg) -> Self {
        Message::Plan(m)
    }
}
impl From<GenerateMsg> for Message {
    fn from(m: GenerateMsg) -> Self {
        Message::Generate(m)
    }
}
impl From<MirrorMsg> for Message {
    fn from(m: MirrorMsg) -> Self {
        Message::Mirror(m)
    }
}
impl From<EvaluateMsg> for Message {
    fn from(m: EvaluateMsg) -> Self {
        Message::Evaluate(m)
    }
}
impl From<FlagMsg> for Message {
    fn from(m: FlagMsg) -> Self {
        Message::Flag(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips_on_its_queue() {
        let reel = ReelId::parse("tee--0123456789ab").unwrap();
        let msgs: Vec<Message> = vec![
            CrawlMsg::Store {
                store: "examples/store".into(),
                only: Some(vec!["tee".into()]),
                crawl_only: false,
                plan: PlanOptions::default(),
            }
            .into(),
            PlanMsg::new(Handle::parse("tee").unwrap(), PlanOptions::default()).into(),
            GenerateMsg::new(reel.clone(), 2, 1).into(),
            MirrorMsg::Assemble { reel: reel.clone() }.into(),
            MirrorMsg::VoiceOver { reel: reel.clone() }.into(),
            EvaluateMsg { reel: reel.clone(), round: 1 }.into(),
            FlagMsg { flag: FlagDetail { reel, reason: "a logo".into(), shots: vec![1, 3] }, event: "e-1".into() }
                .into(),
        ];
        for m in msgs {
            assert_eq!(Message::parse(m.stage(), &m.to_json()).unwrap(), m);
        }
    }

    #[test]
    fn a_message_concerns_its_reel_and_its_product() {
        let reel = ReelId::parse("tee--0123456789ab").unwrap();
        let shot: Message = GenerateMsg::new(reel.clone(), 0, 1).into();
        assert!(shot.concerns("tee--0123456789ab") && shot.concerns("tee"));
        assert!(!shot.concerns("tee--ffffffffffff") && !shot.concerns("te"));
        let plan: Message = PlanMsg::new(Handle::parse("tee").unwrap(), PlanOptions::default()).into();
        assert!(plan.concerns("tee") && !plan.concerns("tee--0123456789ab"));
    }

    #[test]
    fn the_flag_event_the_template_makes_is_a_flag_message() {
        let event: serde_json::Value = serde_json::from_str(include_str!("../../events/evaluate-flag.json")).unwrap();
        let body = event["Records"][0]["body"].as_str().unwrap();
        let Message::Flag(m) = Message::parse(Stage::Evaluate, body).unwrap() else { panic!("not a flag") };
        assert_eq!(m.flag.shots, vec![1]);
        assert!(!m.event.is_empty() && !m.flag.reason.is_empty());
    }

    #[test]
    fn a_message_on_the_wrong_queue_does_not_parse() {
        let m: Message = PlanMsg::new(Handle::parse("tee").unwrap(), PlanOptions::default()).into();
        assert!(Message::parse(Stage::Generate, &m.to_json()).is_err());
    }
}
