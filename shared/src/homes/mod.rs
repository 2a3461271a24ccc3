//! The two homes: the same stages over the [`embedded`] stores (one machine, no account) or the
//! [`aws`](mod@aws) ones. [`wire`] builds the port set for both, once, from the [`Config`]: each home
//! brings only its own blob store, state store and queue.

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;

use crate::adapters::providers::classifier::PixelClassifier;
use crate::adapters::providers::judge::vision::{VisionJudge, VisionSetupError};
use crate::adapters::providers::judge::{ProductMatch, SpecJudge};
use crate::adapters::providers::video::{
    FalVideo, KlingVideo, LumaVideo, ReplicateVideo, RunwayVideo, SeedanceVideo, SetupError, StillMotionVideo, VeoVideo,
};
use crate::adapters::providers::voice::{
    ByLanguage, ElevenLabsVoice, EspeakVoice, KnowsVoices, OpenAiVoice, PiperVoice,
};
use crate::adapters::providers::writer::WriterSetupError;
use crate::adapters::storefront::StorefrontRouter;
use crate::config::{Config, VoiceEngine};
use crate::ports::{BlobStore, Judge, Queue, StateStore, VideoModel, VideoModels, Voice};
use crate::stages::Ports;
use std::sync::Arc;

/// A provider the configuration asks for cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct WiringError {
    pub setting: String,
    pub reason: String,
}

/// The ports every stage runs over: the home's stores, and the providers the configuration names.
pub fn wire(
    config: &Config,
    blobs: Arc<dyn BlobStore>,
    state: Arc<dyn StateStore>,
    queue: Arc<dyn Queue>,
) -> Result<Ports, WiringError> {
    let media = Arc::new(config.media.clone());
    let voice = voice(config, &media.scratch)?;
    let writer = crate::adapters::providers::writer::from_config(&config.writer).map_err(|e| WiringError {
        setting: match &e {
            WriterSetupError::MissingKey(var, _) => var.to_string(),
            WriterSetupError::BadModel(_) => {
                format!("TRUEREEL_WRITER_{}_MODEL", config.writer.kind.as_str().to_uppercase())
            }
            WriterSetupError::Client(_) => "TRUEREEL_WRITER".into(),
        },
        reason: e.to_string(),
    })?;
    Ok(Ports {
        storefronts: Arc::new(StorefrontRouter::new(blobs.clone()).with_fetch_policy(config.fetch.clone())),
        classifier: Arc::new(PixelClassifier),
        video: video(config, &blobs)?,
        voice,
        writer,
        judges: judges(config, &media)?,
        blobs,
        state,
        queue,
        media,
        settings: config.settings.clone(),
        assembly_turns: crate::stages::assembly_turns(),
    })
}

/// The judges of every reel: the local judges always (the spec checks, the product match), then the
/// vision models `TRUEREEL_JUDGE` names, in its order; a reel must pass them all.
pub fn judges(config: &Config, media: &Arc<crate::media::Media>) -> Result<Vec<Arc<dyn Judge>>, WiringError> {
    let mut judges: Vec<Arc<dyn Judge>> = vec![
        Arc::new(SpecJudge::new(media.clone(), config.settings.clone())),
        Arc::new(ProductMatch::new(media.clone(), config.settings.clone())),
    ];
    for kind in &config.judge.vision {
        let judge = VisionJudge::new(*kind, &config.judge, media.clone()).map_err(|e| WiringError {
            setting: match &e {
                VisionSetupError::MissingKey { var, .. } => var.to_string(),
                VisionSetupError::BadModel { var, .. } => var.clone(),
                VisionSetupError::Client(_) => "TRUEREEL_JUDGE".into(),
            },
            reason: e.to_string(),
        })?;
        judges.push(Arc::new(judge));
    }
    Ok(judges)
}

/// How long one call to a video provider's API (or one wait for a download's next piece) may take.
const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The video models `TRUEREEL_VIDEO_PROVIDER` names, in its order: the offline renderer has no
/// shared limit; a paid provider runs at most its configured concurrency across every worker.
pub fn video(config: &Config, blobs: &Arc<dyn BlobStore>) -> Result<VideoModels, WiringError> {
    let mut chain: Vec<(Arc<dyn VideoModel>, Option<u32>)> = Vec::new();
    for name in &config.video.chain {
        chain.push(match name.as_str() {
            "still-motion" => (Arc::new(StillMotionVideo::new(blobs.clone(), config.still_motion_per_second)), None),
            "runway" => {
                let r = &config.video.runway;
                (Arc::new(RunwayVideo::new(r, API_TIMEOUT).map_err(wiring)?), Some(r.concurrency))
            }
            "kling" => {
                let k = &config.video.kling;
                (Arc::new(KlingVideo::new(k, API_TIMEOUT).map_err(wiring)?), Some(k.api.concurrency))
            }
            "veo" => {
                let v = &config.video.veo;
                (Arc::new(VeoVideo::new(v, API_TIMEOUT).map_err(wiring)?), Some(v.api.concurrency))
            }
            "seedance" => {
                let c = &config.video.seedance;
                (Arc::new(SeedanceVideo::new(c, API_TIMEOUT).map_err(wiring)?), Some(c.concurrency))
            }
            "fal" => {
                let c = &config.video.fal;
                (Arc::new(FalVideo::new(c, API_TIMEOUT).map_err(wiring)?), Some(c.concurrency))
            }
            "replicate" => {
                let r = &config.video.replicate;
                (Arc::new(ReplicateVideo::new(r, API_TIMEOUT).map_err(wiring)?), Some(r.api.concurrency))
            }
            "luma" => {
                let l = &config.video.luma;
                // Presigned S3 links are public https URLs; a folder's are `file://`.
                let local = !blobs
                    .location(&crate::BlobKey::parse("references/x.jpg").expect("a valid key"))
                    .starts_with("s3://");
                if local && l.photo_base_url.is_none() {
                    return Err(WiringError {
                        setting: "TRUEREEL_LUMA_PHOTO_BASE_URL".into(),
                        reason: "luma takes photos by URL only, and on one machine the photos have no public URL: set \
                                 TRUEREEL_LUMA_PHOTO_BASE_URL to a public https address serving the blob folder \
                                 (<data dir>/blobs) by key, or run on AWS (presigned S3 links)"
                            .into(),
                    });
                }
                (Arc::new(LumaVideo::new(l, API_TIMEOUT).map_err(wiring)?), Some(l.api.concurrency))
            }
            other => {
                return Err(WiringError {
                    setting: "TRUEREEL_VIDEO_PROVIDER".into(),
                    reason: format!("{other} is not a video provider this build has"),
                });
            }
        });
    }
    if chain.is_empty() {
        return Err(WiringError { setting: "TRUEREEL_VIDEO_PROVIDER".into(), reason: "no provider named".into() });
    }
    Ok(VideoModels::chain(chain))
}

/// A provider client's setup error as the setting it names.
fn wiring(e: SetupError) -> WiringError {
    WiringError { setting: e.setting, reason: e.reason }
}

/// The voice `TRUEREEL_VOICE` names, behind the language router (which names the language and the
/// voices tried when none speaks a line's language). `auto`: Piper first when it is installed (for the
/// languages of its models), espeak-ng for every other language; espeak-ng alone without Piper.
pub fn voice(config: &Config, scratch: &crate::media::Scratch) -> Result<Arc<dyn Voice>, WiringError> {
    let v = &config.voice;
    let err = |setting: &str, reason: String| WiringError { setting: setting.into(), reason };
    let piper = || PiperVoice::from_config(v, scratch).map_err(|reason| err("TRUEREEL_PIPER_MODEL", reason));
    let espeak = || -> Arc<dyn KnowsVoices> { Arc::new(EspeakVoice::from_config(v)) };
    let keyed = |c: &crate::config::CloudVoiceConfig, setting: &str| match &c.api_key {
        Some(_) => Ok(()),
        None => Err(err(setting, format!("TRUEREEL_VOICE asks for a paid voice, but {setting} is not set"))),
    };
    let voices: Vec<Arc<dyn KnowsVoices>> = match v.engine {
        VoiceEngine::Auto => match piper()? {
            Some(p) => vec![Arc::new(p), espeak()],
            None => vec![espeak()],
        },
        VoiceEngine::Piper => match piper()? {
            Some(p) => vec![Arc::new(p)],
            None => {
                let reason = "piper is chosen, but no Piper model is installed: run scripts/setup.sh or set \
                              TRUEREEL_PIPER_MODEL";
                return Err(err("TRUEREEL_VOICE", reason.into()));
            }
        },
        VoiceEngine::Espeak => vec![espeak()],
        VoiceEngine::ElevenLabs => {
            keyed(&v.elevenlabs, "TRUEREEL_ELEVENLABS_API_KEY")?;
            vec![Arc::new(ElevenLabsVoice::new(v.elevenlabs.clone()))]
        }
        VoiceEngine::OpenAi => {
            keyed(&v.openai, "TRUEREEL_OPENAI_API_KEY")?;
            vec![Arc::new(OpenAiVoice::new(v.openai.clone()))]
        }
        #[cfg(feature = "aws")]
        VoiceEngine::Polly => {
            vec![Arc::new(crate::adapters::providers::voice::PollyVoice::lazy(config.aws.clone(), v.polly.clone()))]
        }
        #[cfg(not(feature = "aws"))]
        VoiceEngine::Polly => {
            return Err(err("TRUEREEL_VOICE", "polly needs truereel built with the `aws` feature".into()));
        }
    };
    let voice = ByLanguage::new(voices);
    tracing::debug!(voice = %voice.name(), "voice wired");
    Ok(Arc::new(voice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::folder_blobs::FolderBlobStore;
    use crate::adapters::embedded::sqlite_queue::SqliteQueue;
    use crate::adapters::embedded::sqlite_state::SqliteStateStore;

    fn wired(config: &Config) -> Result<Ports, WiringError> {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.sqlite");
        let blobs = Arc::new(FolderBlobStore::new(dir.path().join("blobs")).unwrap());
        let state = Arc::new(SqliteStateStore::open(&db).unwrap());
        let queue = Arc::new(SqliteQueue::open(&db, crate::ports::MAX_RECEIVES).unwrap());
        wire(config, blobs, state, queue)
    }

    #[test]
    fn the_configuration_chooses_the_voice() {
        // A test binary (target/debug/deps/) does not reach the checkout's .tools: espeak-ng alone.
        assert_eq!(wired(&Config::default()).unwrap().voice.name(), "espeak-ng:en-us");
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("en_US-test-low.onnx");
        std::fs::write(&model, b"").unwrap();
        std::fs::write(dir.path().join("en_US-test-low.onnx.json"), r#"{"language":{"code":"en_US"}}"#).unwrap();
        let piper = tempfile::NamedTempFile::new().unwrap();
        let vars = [
            ("TRUEREEL_PIPER_MODEL", model.to_str().unwrap().to_string()),
            ("TRUEREEL_PIPER", piper.path().to_str().unwrap().to_string()),
            ("TRUEREEL_ESPEAK_VOICE", "en-gb".to_string()),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let with = |extra: &'static [(&'static str, &'static str)]| {
            let env = move |k: &str| extra.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()).or_else(|| env(k));
            Config::load(&env, &[]).unwrap()
        };
        let auto = wired(&with(&[])).unwrap().voice;
        assert_eq!(auto.name(), "piper:en_US-test-low,espeak-ng:en-gb", "Piper for English, espeak-ng for the rest");
        assert!(auto.speaks("en") && auto.speaks("ja"));
        assert_eq!(wired(&with(&[("TRUEREEL_VOICE", "piper")])).unwrap().voice.name(), "piper:en_US-test-low");
        assert_eq!(wired(&with(&[("TRUEREEL_VOICE", "espeak")])).unwrap().voice.name(), "espeak-ng:en-gb");
        let config = Config::load(&|k| env(k).filter(|_| k != "TRUEREEL_PIPER_MODEL"), &[]).unwrap();
        assert_eq!(wired(&config).unwrap().voice.name(), "espeak-ng:en-gb");
        let e = wired(&Config::load(&|k| (k == "TRUEREEL_VOICE").then(|| "piper".into()), &[]).unwrap()).err().unwrap();
        assert!(e.to_string().contains("scripts/setup.sh"), "{e}");
    }

    #[test]
    fn a_paid_voice_needs_its_key() {
        let e =
            wired(&Config::load(&|k| (k == "TRUEREEL_VOICE").then(|| "openai".into()), &[]).unwrap()).err().unwrap();
        assert!(e.to_string().starts_with("TRUEREEL_OPENAI_API_KEY:"), "{e}");
        let vars = [("TRUEREEL_VOICE", "elevenlabs"), ("TRUEREEL_ELEVENLABS_API_KEY", "xi-1")];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let voice = wired(&Config::load(&env, &[]).unwrap()).unwrap().voice;
        assert_eq!(voice.name(), "elevenlabs:21m00Tcm4TlvDq8ikWAM");
        assert!(voice.speaks("ja") && voice.price("12345") > crate::Usd::ZERO);
        #[cfg(feature = "aws")]
        {
            let config = Config::load(&|k| (k == "TRUEREEL_VOICE").then(|| "polly".into()), &[]).unwrap();
            assert_eq!(wired(&config).unwrap().voice.name(), "polly:Joanna");
        }
    }

    #[test]
    fn the_configuration_chooses_the_writer() {
        assert_eq!(wired(&Config::default()).unwrap().writer.name(), "template");
        for (writer, key, name) in [
            ("openai", "TRUEREEL_OPENAI_API_KEY", "openai:gpt-5.4-mini"),
            ("anthropic", "TRUEREEL_ANTHROPIC_API_KEY", "anthropic:claude-sonnet-4-6"),
            ("gemini", "TRUEREEL_GEMINI_API_KEY", "gemini:gemini-3.5-flash"),
        ] {
            let vars = [("TRUEREEL_WRITER", writer), (key, "k-1")];
            let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
            let config = Config::load(&env, &[]).unwrap();
            assert_eq!(wired(&config).unwrap().writer.name(), name);
        }
        let vars = [
            ("TRUEREEL_WRITER", "gemini"),
            ("TRUEREEL_GEMINI_API_KEY", "k"),
            ("TRUEREEL_WRITER_GEMINI_MODEL", "a/../b"),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let e = wired(&Config::load(&env, &[]).unwrap()).err().expect("refused");
        assert_eq!(e.setting, "TRUEREEL_WRITER_GEMINI_MODEL");
    }
}
