//! Pixel measurements for the judge: colour ([`colour`]: CIE Lab, CIEDE2000, a picture's main
//! colours), what changes between frames and how sharp they are ([`frames`]), where a frame
//! lies on its photo and how alike they are there ([`align`]), and whether the picture moves as one
//! camera move ([`motion`]).
//!
//! Its own crate so that its loops are optimised in every build of the workspace (the dev profile
//! compiles it at `opt-level = 3`): judging a reel runs them over millions of pixels.

pub mod align;
pub mod colour;
pub mod frames;
pub mod motion;
