//! The product copy as text: its language, the facts it states, and the honesty guard every writer's
//! lines pass through. Pure functions over domain types: the writers and the plan stage share them.
//!
//! - [`language_of`]: the language of a text, by script, then by common words for Latin script.
//! - [`facts`]: the concrete claims a text makes ([`claims_in`]) and what a product's copy supports
//!   ([`Support`]).
//! - [`guard`]: every line's claims checked against the copy; unsupported ones cut out or the line
//!   replaced, the brand's words to avoid removed, its spellings applied.
//! - [`fit`]: copy cut into sentences and clauses, and a line fitted into a word limit.
//!
//! **Languages.** Claims are recognised by English words (materials, colours, care, places,
//! certifications...). A line in another language is checked for what can be read in any script —
//! numbers, percentages and prices — and otherwise left alone: a French "soie" is not recognised as
//! silk. Brand words to avoid and spellings apply in every language.

pub mod facts;
pub mod fit;
mod guard;
mod language;
mod tokens;
pub mod vocab;

pub use facts::{Category, Claim, Support, claims_in, materials_in};
pub use fit::{clauses, finish, fit, sentences, word_count};
pub use language::{counts_by_chars, known_language, language_of};
pub use tokens::find_ci;

use crate::{BrandKit, DroppedClaim, Product};

/// Characters that count as one word in languages written without spaces (Japanese, Chinese).
pub const CHARS_PER_WORD: usize = 3;

/// Lines after the honesty guard, and what it took out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Guarded {
    pub lines: Vec<String>,
    pub dropped: Vec<DroppedClaim>,
}

/// Checks every concrete claim in `lines` against the product's copy; rewrites or drops what the copy
/// does not support, and keeps the brand's words to avoid out.
///
/// - A claim is supported when the copy ([`Support`]: title, description, vendor, product type,
///   price and currency, options and variants, the reel's colour) states the same fact: the same
///   material key (`merino` also supports `wool`), care, certification, guarantee or superlative;
///   the same number (`59.00` = `59`, `two` = `2`); the product's or a variant's price in a
///   compatible currency; a size among the options; the same place of origin.
/// - A colour must be the reel's colour when `colour` is given: another of the product's colours is
///   refused even though the copy names it, and any other colour only stands as the copy gives it
///   for the same detail ("white drawstrings"). Without `colour`, the copy must name it.
/// - A descriptive word (material, colour, label, superlative, performance) is cut as a phrase
///   ("soft silk hoodie" → "soft hoodie"); a statement (number, price, size, care, origin,
///   guarantee) with its clause part ("with 3 pockets and a hood" → "and a hood"). A clause left
///   with nothing to say goes; a line left with nothing is replaced by one from the copy (the title),
///   and its [`DroppedClaim::rewritten`] is `None`.
/// - The brand's `avoid` words and phrases are cut (whole words, any case; `avoided_word`), and its
///   `say` spellings applied last.
///
/// Each removal is one [`DroppedClaim`] whose reason names what the copy says instead when it says
/// something ("the copy says cotton, not silk").
pub fn guard(lines: &[String], product: &Product, brand: &BrandKit, colour: Option<&str>) -> Guarded {
    guard::guard(lines, product, brand, colour)
}

#[cfg(test)]
mod tests;
