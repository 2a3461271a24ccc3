//! Voices behind [`Voice`](crate::ports::Voice): the offline espeak-ng (always available) and Piper
//! (installed by `scripts/setup.sh`), the paid Amazon Polly, ElevenLabs and OpenAI, and the router
//! ([`by_language`]) that lets the copy's language pick among them. [`engine`] runs the offline ones;
//! [`cloud`] is what the HTTP ones share. `homes::wire` builds the voice from `TRUEREEL_VOICE`:
//!
//! | `TRUEREEL_VOICE` | the voice | languages | word timings | price |
//! |---|---|---|---|---|
//! | `auto` (default) | Piper for the languages of its installed models, espeak-ng for the rest; espeak-ng alone when Piper is absent | Piper's (joe: `en`) + espeak-ng's (~130, `ja` and `ar` among them) | estimated | free |
//! | `piper` | Piper alone (an error when it is not installed) | its models' | estimated | free |
//! | `espeak` | espeak-ng alone | espeak-ng's | estimated | free |
//! | `polly` | Amazon Polly (AWS SDK; needs `polly:SynthesizeSpeech`) | [`polly::VOICES`]' | real: word speech marks | $16 / M chars (neural) × 2 calls |
//! | `elevenlabs` | ElevenLabs (`TRUEREEL_ELEVENLABS_API_KEY`) | [`elevenlabs::LANGUAGES`] | real: character alignment | $300 / M chars (setting) |
//! | `openai` | OpenAI speech (`TRUEREEL_OPENAI_API_KEY`) | [`openai::LANGUAGES`] | estimated | $15 / M chars (setting) |
//!
//! Every setting (`TRUEREEL_TOOLS_DIR`, `TRUEREEL_ESPEAK*`, `TRUEREEL_PIPER*`, `TRUEREEL_POLLY_*`,
//! `TRUEREEL_ELEVENLABS_*`, `TRUEREEL_OPENAI_*`) is in `truereel config`. A line's `rate` (0.5–2.0;
//! outside is Rejected) is Piper's `--length-scale 1/rate`, espeak-ng's `-s wpm×rate`, Polly's SSML
//! prosody, ElevenLabs' `speed` (clamped to 0.7–1.2) and OpenAI's `speed`. A brand's named voice is
//! the engine's own: a Piper model stem, an espeak-ng voice, a Polly VoiceId, an ElevenLabs voice id
//! or an OpenAI voice; one the engine does not have for the line's language is Rejected.
//!
//! Text is untrusted: it goes to an offline engine on stdin, never as an argument, so a line starting
//! with `-` is spoken, not parsed as an option; espeak's `[[phoneme]]` input is defused. API keys go in
//! their one header, never in a log or an error.
//!
//! **Estimated word timings.** Where an engine reports none, the measured speech span (first to last
//! sample above silence) is shared out over the words in proportion to their length in letters and
//! digits, with a pause after a word that ends in punctuation (two letters' worth after `,;:`, four
//! after `.!?`). Good enough to time captions to a phrase; not lip-sync.

pub mod by_language;
pub mod cloud;
pub mod elevenlabs;
pub mod engine;
pub mod espeak;
pub mod openai;
pub mod piper;
#[cfg(feature = "aws")]
pub mod polly;

pub use by_language::{ByLanguage, KnowsVoices};
pub use elevenlabs::ElevenLabsVoice;
pub use espeak::EspeakVoice;
pub use openai::OpenAiVoice;
pub use piper::PiperVoice;
#[cfg(feature = "aws")]
pub use polly::PollyVoice;
