//! The offline script writer: one line per shot from the product's own copy, nothing invented.

use crate::Product;
use crate::ShotRole;
use crate::ports::{ProviderError, ShotBrief, WriteRequest, Writer};
use async_trait::async_trait;

/// Writes lines only from the product's title and description (no claims the copy does not make).
pub struct TemplateWriter;

#[async_trait]
impl Writer for TemplateWriter {
    fn name(&self) -> &str {
        "template"
    }

    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError> {
        Ok(write_lines(request.product, request.shots))
    }
}

/// The lines, pure: the description is cut into clauses that fit, handed out in order to the
/// shots between the opening and the call to action.
pub fn write_lines(product: &Product, shots: &[ShotBrief]) -> Vec<String> {
    let title = product.title.trim();
    let mut clauses = clauses(&product.description, shots.iter().map(|s| s.max_words).min().unwrap_or(14)).into_iter();
    shots
        .iter()
        .map(|shot| {
            let line = match shot.role {
                ShotRole::Opening => format!("Meet the {title}."),
                ShotRole::CallToAction => format!("The {title}. Tap to shop."),
                ShotRole::Texture => clauses.next().unwrap_or_else(|| "Look closer at the details.".into()),
                ShotRole::Reveal => clauses.next().unwrap_or_else(|| "Here it is, clean and simple.".into()),
                ShotRole::View => clauses.next().unwrap_or_else(|| "Another angle.".into()),
            };
            fit(&line, shot.max_words)
        })
        .collect()
}

/// Sentences of `text`, split further at commas or "and"/"with" when longer than `max_words`.
fn clauses(text: &str, max_words: usize) -> Vec<String> {
    let mut out = Vec::new();
    for sentence in text.split_inclusive(['.', '!', '?', ';']).map(str::trim).filter(|s| s.len() > 1) {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        if words.len() <= max_words {
            out.push(finish(sentence));
            continue;
        }
        let mut current: Vec<&str> = Vec::new();
        for w in words {
            let breaks = w.ends_with(',') || matches!(w, "and" | "with");
            if breaks && current.len() >= 4 && !w.ends_with(',') {
                out.push(finish(&current.join(" ")));
                current = vec![w];
                continue;
            }
            current.push(w);
            if (w.ends_with(',') && current.len() >= 4) || current.len() >= max_words {
                out.push(finish(&current.join(" ")));
                current.clear();
            }
        }
        if current.len() >= 2 {
            out.push(finish(&current.join(" ")));
        }
    }
    out
}

/// A clause as a spoken sentence: capitalised, ending in one full stop.
fn finish(clause: &str) -> String {
    let c = clause.trim().trim_end_matches([',', ';', ':', '.', ' ']);
    let c = c
        .strip_prefix("and ")
        .or_else(|| c.strip_prefix("with "))
        .map(|r| format!("With {r}"))
        .unwrap_or(c.to_string());
    let mut chars = c.chars();
    match chars.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// At most `max_words` words.
fn fit(line: &str, max_words: usize) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() <= max_words { line.to_string() } else { finish(&words[..max_words].join(" ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Handle, PhotoKind, Sha256};

    fn product(description: &str) -> Product {
        Product {
            handle: Handle::parse("hoodie").unwrap(),
            title: "Pullover Hoodie".into(),
            description: description.into(),
            vendor: None,
            product_type: None,
            price: Some("59.00".into()),
            currency: None,
            options: Vec::new(),
            variants: Vec::new(),
            references: vec![],
            gallery_hash: Sha256::of(b"x"),
            store: "s".into(),
            updated_ms: 0,
        }
    }

    fn brief(role: ShotRole) -> ShotBrief {
        ShotBrief { role, kind: PhotoKind::Flat, alt: None, max_words: 14 }
    }

    #[test]
    fn lines_come_from_the_copy_and_fit_the_shots() {
        let p = product(
            "Pullover hooded sweatshirt with a front kangaroo pocket and ribbed cuffs and hem. A white circular logo is printed on the left chest. Available in red (with white drawstrings) and black.",
        );
        let shots = [
            brief(ShotRole::Opening),
            brief(ShotRole::Texture),
            brief(ShotRole::Reveal),
            brief(ShotRole::CallToAction),
        ];
        let lines = write_lines(&p, &shots);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "Meet the Pullover Hoodie.");
        assert!(lines[3].contains("Pullover Hoodie"));
        for l in &lines {
            assert!(l.split_whitespace().count() <= 14, "{l:?} is too long");
            assert!(l.ends_with('.'), "{l:?}");
        }
        assert!(lines[1].to_lowercase().contains("kangaroo pocket"), "{lines:?}");
    }

    #[test]
    fn an_empty_description_gives_plain_lines_not_invented_claims() {
        let lines = write_lines(
            &product(""),
            &[brief(ShotRole::Opening), brief(ShotRole::View), brief(ShotRole::CallToAction)],
        );
        assert_eq!(lines[1], "Another angle.");
    }
}
