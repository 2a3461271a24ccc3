//! Providers by port, one module per provider: [`video`] models, [`voice`]s, script [`writer`]s,
//! [`judge`]s and photo [`classifier`]s. The offline ones (still-motion, espeak-ng, Piper, the template
//! writer, the spec judge, the pixel classifier) run in both homes; paid clients go beside them.

pub mod classifier;
pub mod judge;
pub mod video;
pub mod voice;
pub mod writer;
