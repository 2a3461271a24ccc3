//! The two homes: the same stages over the [`embedded`] stores (one machine, no account) or the
//! [`aws`](mod@aws) ones. [`wire`] builds the port set for both, once, from the [`Config`]: each home
//! brings only its own blob store, state store and queue.

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;

use crate::adapters::providers::classifier::PixelClassifier;
use crate::adapters::providers::judge::SpecJudge;
use crate::adapters::providers::video::StillMotionVideo;
use crate::adapters::providers::voice::{EspeakVoice, PiperVoice};
use crate::adapters::providers::writer::WriterSetupError;
use crate::adapters::storefront::StorefrontRouter;
use crate::config::Config;
use crate::ports::{BlobStore, Queue, StateStore, Voice};
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
    let voice: Arc<dyn Voice> = match PiperVoice::from_config(&config.voice, &media.scratch) {
        Ok(Some(piper)) => Arc::new(piper),
        Ok(None) => Arc::new(EspeakVoice::from_config(&config.voice)),
        Err(reason) => return Err(WiringError { setting: "TRUEREEL_PIPER_MODEL".into(), reason }),
    };
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
        video: Arc::new(StillMotionVideo::new(media.clone(), blobs.clone(), config.still_motion_per_second)),
        voice,
        writer,
        judge: Arc::new(SpecJudge::new(media.clone(), config.settings.clone())),
        blobs,
        state,
        queue,
        media,
        settings: config.settings.clone(),
    })
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
        assert_eq!(wired(&Config::default()).unwrap().voice.name(), "espeak-ng:en-us");
        let model = tempfile::Builder::new().suffix(".onnx").tempfile().unwrap();
        let piper = tempfile::NamedTempFile::new().unwrap();
        let vars = [
            ("TRUEREEL_PIPER_MODEL", model.path().to_str().unwrap().to_string()),
            ("TRUEREEL_PIPER", piper.path().to_str().unwrap().to_string()),
            ("TRUEREEL_ESPEAK_VOICE", "en-gb".to_string()),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let config = Config::load(&env, &[]).unwrap();
        let stem = model.path().file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(wired(&config).unwrap().voice.name(), format!("piper:{stem}"));
        let config = Config::load(&|k| env(k).filter(|_| k != "TRUEREEL_PIPER_MODEL"), &[]).unwrap();
        assert_eq!(wired(&config).unwrap().voice.name(), "espeak-ng:en-gb");
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
