//! Script writers behind [`Writer`](crate::ports::Writer): the offline [`template`] writer (lines from
//! the product copy alone) and LLM writers for [`openai`], [`anthropic`] and [`gemini`], which share
//! [`llm`]'s prompt, answer schema and strict reading. Whatever the writer, the plan runs every line
//! through the honesty guard ([`crate::copy::guard`]).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_WRITER` | `template`, `openai`, `anthropic` or `gemini` | `template` |
//! | `TRUEREEL_OPENAI_API_KEY`, `TRUEREEL_ANTHROPIC_API_KEY`, `TRUEREEL_GEMINI_API_KEY` | the chosen LLM's key (required for it; never shown) | none |
//! | `TRUEREEL_WRITER_OPENAI_MODEL`, `…_ANTHROPIC_MODEL`, `…_GEMINI_MODEL` | the model | `gpt-5.4-mini`, `claude-sonnet-4-6`, `gemini-3.5-flash` |
//! | `TRUEREEL_OPENAI_BASE_URL`, `TRUEREEL_ANTHROPIC_BASE_URL`, `TRUEREEL_GEMINI_BASE_URL` | the API (a proxy, a stub); the client adds the version path (`/v1`, `/v1beta`) | the provider's |
//! | `TRUEREEL_WRITER_TIMEOUT_SECS` | the longest one call may take | `60` |

pub mod anthropic;
pub mod gemini;
pub mod llm;
pub mod openai;
pub mod template;

pub use anthropic::AnthropicWriter;
pub use gemini::GeminiWriter;
pub use llm::WriterSetupError;
pub use openai::OpenAiWriter;
pub use template::TemplateWriter;

use crate::config::{WriterConfig, WriterKind};
use crate::ports::Writer;
use std::sync::Arc;

/// The writer the configuration chooses.
pub fn from_config(config: &WriterConfig) -> Result<Arc<dyn Writer>, WriterSetupError> {
    Ok(match config.kind {
        WriterKind::Template => Arc::new(TemplateWriter),
        WriterKind::OpenAi => Arc::new(OpenAiWriter::new(&config.openai, config.timeout)?),
        WriterKind::Anthropic => Arc::new(AnthropicWriter::new(&config.anthropic, config.timeout)?),
        WriterKind::Gemini => Arc::new(GeminiWriter::new(&config.gemini, config.timeout)?),
    })
}

#[cfg(test)]
mod tests;
