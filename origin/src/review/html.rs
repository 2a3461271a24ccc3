//! The page shell every review view shares: one `<main>` after a skip link, headings in order,
//! a visible focus ring, and the little script (the copy button) served from the binary.

pub use crate::embed::escape;

/// The stylesheet (no build step, no CDN).
const STYLE: &str = include_str!("review.css");

/// The script: the embed snippet's copy button.
pub const SCRIPT: &str = include_str!("review.js");

/// A whole page: `title` in `<title>` and as the one `<h1>`, `said` as a status message, `body` as
/// the main content.
pub fn page(title: &str, said: Option<&str>, body: &str) -> String {
    let status = match said {
        Some(s) => format!("<p class=\"said\" role=\"status\" id=\"said\">{}</p>", escape(s)),
        None => "<p class=\"said\" role=\"status\" id=\"said\" hidden></p>".to_string(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · truereel review</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><nav aria-label=\"Site\"><a href=\"/\">Catalogue</a> · \
         <a href=\"/?needs=person\">Needs a person</a></nav></header>\
         <main id=\"main\" tabindex=\"-1\"><h1>{t}</h1>{status}{body}</main>\
         <script src=\"/review.js\"></script></body></html>",
        t = escape(title),
    )
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(token))
}
