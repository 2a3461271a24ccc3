//! Voices behind [`Voice`](crate::ports::Voice): the offline espeak-ng (always available) and Piper (when its
//! CLI and a model are installed); [`engine`] runs either one.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_ESPEAK` | the espeak-ng binary | `espeak-ng` on `PATH` |
//! | `TRUEREEL_ESPEAK_VOICE` | espeak-ng voice | `en-us` |
//! | `TRUEREEL_ESPEAK_WPM` | speaking rate, words per minute (80–450) | `165` |
//! | `TRUEREEL_PIPER` | the piper binary | `piper` on `PATH` |
//! | `TRUEREEL_PIPER_MODEL` | a Piper voice model (`.onnx`, its `.onnx.json` beside it) | none: Piper off |
//!
//! Text is untrusted: it goes to the engine on stdin, never as an argument, so a line starting
//! with `-` is spoken, not parsed as an option; espeak's `[[phoneme]]` input is defused.
//!
//! **Word timings are estimated.** Neither engine reports them here, so the measured speech span
//! (first to last sample above silence) is shared out over the words in proportion to their
//! length in letters and digits, with a pause after a word that ends in punctuation (two letters'
//! worth after `,;:`, four after `.!?`). Good enough to time captions to a phrase; not lip-sync.

pub mod engine;
pub mod espeak;
pub mod piper;

pub use espeak::EspeakVoice;
pub use piper::PiperVoice;
