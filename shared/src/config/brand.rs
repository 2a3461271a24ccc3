//! `brand.toml`: the brand kit, read and checked key by key so a bad value is an error naming its key.
//!
//! ```toml
//! name = "Acme"                      # said and shown as the brand
//! call_to_action = "Shop the drop."  # the closing line
//! language = "en"                    # the reels' language (default: detected from the copy)
//! avoid = ["cheap", "bargain"]       # never said or shown
//! reference_images = ["style/look-1.jpg"]  # tone and styling, for providers that take style references
//! video_provider = ["runway", "still-motion"]  # this brand's video models, first choice first
//! whole_reel = true                      # one product-ad clip for the whole reel (Runway)
//!
//! [say]                              # always written the brand's way
//! tshirt = "T-Shirt"
//!
//! [caption]
//! font = "DejaVu Sans"               # default: a font with the line's glyphs
//! colour = "#ffffff"                 # or `color`; `#rgb` or `#rrggbb`
//! outline = "#000000"
//! position = "lower"                 # lower | middle | upper
//!
//! [voice]
//! name = "en_US-joe-medium"          # a voice the engine knows
//! rate = 1.0                         # 0.5 to 2.0
//!
//! [length]                           # narrows the program's 6–60 s
//! min_seconds = 8
//! max_seconds = 20
//!
//! [thresholds]                       # the local judge's limits for this brand (`truereel calibrate` fits them)
//! structure = 0.80                   # a frame's fit to its photo, at least (default 0.85)
//! mirrored = 0.12                    # the flipped photo fits better by at most
//! proportions = 0.03                 # the photo stretched sideways fits better by at most
//! detail = 0.5                       # the share of the photo's edges kept, at least
//! motion = 0.5                       # the picture's change from first to last frame, at least
//! warping = 0.06                     # the share of the picture straying from the camera's move, at most
//! sharpness = 0.2                    # the frames' sharpness against the photo's, at least
//! ```

use crate::{BrandKit, CaptionPosition};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The file name looked for beside a folder store.
pub const FILE_NAME: &str = "brand.toml";
/// The program's reel length bounds, which a brand kit may only narrow.
pub const MIN_REEL_MS: u32 = 6_000;
pub const MAX_REEL_MS: u32 = 60_000;
/// The most words to avoid or say-as pairs a kit may hold, and the longest text value.
const MAX_LIST: usize = 500;
const MAX_TEXT: usize = 200;
/// The most style reference images.
const MAX_IMAGES: usize = 10;

/// A brand kit that could not be read: the file, and every key that is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {}", file.display(), problems.join("; "))]
pub struct BrandError {
    pub file: PathBuf,
    pub problems: Vec<String>,
}

/// Reads the kit at `path`. Relative reference image paths are resolved against its folder.
pub fn load(path: &Path) -> Result<BrandKit, BrandError> {
    let fail = |p: String| BrandError { file: path.to_path_buf(), problems: vec![p] };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if !meta.is_file() || meta.len() > 256 * 1024 {
        return Err(fail("not a regular file of at most 256 KiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it as UTF-8 text: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir).map_err(|problems| BrandError { file: path.to_path_buf(), problems })
}

/// The kit beside a folder store, if the store is a folder and has one.
pub fn beside_store(store: &str) -> Option<PathBuf> {
    if store.is_empty() || store.contains("://") {
        return None;
    }
    let p = Path::new(store).join(FILE_NAME);
    p.is_file().then_some(p)
}

/// Parses kit text; every wrong key is named, all at once.
pub fn parse(text: &str, dir: &Path) -> Result<BrandKit, Vec<String>> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| vec![format!("not valid TOML: {}", e.message())])?;
    let mut r = Reader { problems: Vec::new() };
    let mut kit = BrandKit::default();
    for (key, value) in &table {
        match key.as_str() {
            "name" => kit.name = r.text(key, value),
            "call_to_action" => kit.call_to_action = r.text(key, value),
            "language" => kit.language = r.language(key, value),
            "avoid" => kit.avoid = r.texts(key, value),
            "video_provider" => {
                let names = r.texts(key, value);
                for n in &names {
                    if !super::defs::VIDEO_PROVIDERS.contains(&n.as_str()) {
                        r.bad(
                            key,
                            format!("{n} is not a video provider ({})", super::defs::VIDEO_PROVIDERS.join(", ")),
                        );
                    }
                }
                kit.video_provider = names;
            }
            "reference_images" => {
                let images = r.texts(key, value);
                if images.len() > MAX_IMAGES {
                    r.bad(key, format!("at most {MAX_IMAGES} images"));
                }
                kit.reference_images = images.into_iter().map(|i| resolve(&i, dir)).collect();
            }
            "say" => kit.say = r.say(key, value),
            "whole_reel" => match value.as_bool() {
                Some(on) => kit.whole_reel = on,
                None => r.bad(key, "must be true or false"),
            },
            "caption" => r.section(key, value, |r, k, v| match k {
                "font" => kit.caption.font = r.text(&format!("caption.{k}"), v),
                "colour" | "color" => {
                    kit.caption.colour = r.colour(&format!("caption.{k}"), v).unwrap_or(kit.caption.colour)
                }
                "outline" => kit.caption.outline = r.colour(&format!("caption.{k}"), v).unwrap_or(kit.caption.outline),
                "position" => kit.caption.position = r.position(&format!("caption.{k}"), v),
                _ => r.unknown(&format!("caption.{k}"), "font, colour, outline, position"),
            }),
            "voice" => r.section(key, value, |r, k, v| match k {
                "name" => kit.voice.name = r.text(&format!("voice.{k}"), v),
                "rate" => kit.voice.rate = r.number(&format!("voice.{k}"), v, 0.5, 2.0).unwrap_or(1.0) as f32,
                _ => r.unknown(&format!("voice.{k}"), "name, rate"),
            }),
            "thresholds" => r.section(key, value, |r, k, v| {
                let key = format!("thresholds.{k}");
                match crate::tunable(k) {
                    Some(t) => {
                        if let Some(limit) = r.number(&key, v, t.min, t.max)
                            && let Err(e) = kit.thresholds.set(k, limit)
                        {
                            r.bad(&key, e);
                        }
                    }
                    None => {
                        let known: Vec<&str> = crate::TUNABLE.iter().map(|t| t.check).collect();
                        r.unknown(&key, &known.join(", "))
                    }
                }
            }),
            "length" => {
                let (lo, hi) = (f64::from(MIN_REEL_MS) / 1000.0, f64::from(MAX_REEL_MS) / 1000.0);
                r.section(key, value, |r, k, v| match k {
                    "min_seconds" => kit.min_reel_ms = r.number(&format!("length.{k}"), v, lo, hi).map(ms),
                    "max_seconds" => kit.max_reel_ms = r.number(&format!("length.{k}"), v, lo, hi).map(ms),
                    _ => r.unknown(&format!("length.{k}"), "min_seconds, max_seconds"),
                })
            }
            other => r.unknown(
                other,
                "name, call_to_action, language, avoid, reference_images, say, caption, voice, length, video_provider, \
                 whole_reel, thresholds",
            ),
        }
    }
    if let (Some(lo), Some(hi)) = (kit.min_reel_ms, kit.max_reel_ms)
        && lo > hi
    {
        r.bad("length.min_seconds", format!("is more than length.max_seconds ({} s)", hi / 1000));
    }
    if r.problems.is_empty() { Ok(kit) } else { Err(r.problems) }
}

/// A value as an error message shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

fn ms(seconds: f64) -> u32 {
    (seconds * 1000.0).round() as u32
}

fn resolve(image: &str, dir: &Path) -> String {
    if image.contains("://") || Path::new(image).is_absolute() {
        image.to_string()
    } else {
        dir.join(image).to_string_lossy().into_owned()
    }
}

struct Reader {
    problems: Vec<String>,
}

impl Reader {
    fn bad(&mut self, key: &str, why: impl std::fmt::Display) {
        self.problems.push(format!("{key} {why}"));
    }

    fn unknown(&mut self, key: &str, known: &str) {
        self.problems.push(format!("{key} is not a brand kit key (known here: {known})"));
    }

    fn text(&mut self, key: &str, v: &Value) -> Option<String> {
        match v.as_str().map(str::trim) {
            Some("") => {
                self.bad(key, "is empty");
                None
            }
            Some(s) if s.chars().count() > MAX_TEXT => {
                self.bad(key, format!("is longer than {MAX_TEXT} characters"));
                None
            }
            Some(s) if s.chars().any(char::is_control) => {
                self.bad(key, "holds control characters");
                None
            }
            Some(s) => Some(s.to_string()),
            None => {
                self.bad(key, format!("must be text, not {}", v.type_str()));
                None
            }
        }
    }

    fn texts(&mut self, key: &str, v: &Value) -> Vec<String> {
        let Some(items) = v.as_array() else {
            self.bad(key, format!("must be a list of text, not {}", v.type_str()));
            return Vec::new();
        };
        if items.len() > MAX_LIST {
            self.bad(key, format!("holds more than {MAX_LIST} entries"));
            return Vec::new();
        }
        items.iter().enumerate().filter_map(|(i, item)| self.text(&format!("{key}[{i}]"), item)).collect()
    }

    fn say(&mut self, key: &str, v: &Value) -> Vec<(String, String)> {
        let Some(table) = v.as_table() else {
            self.bad(key, "must be a table of `word = \"the brand's way\"`");
            return Vec::new();
        };
        if table.len() > MAX_LIST {
            self.bad(key, format!("holds more than {MAX_LIST} entries"));
            return Vec::new();
        }
        table
            .iter()
            .filter_map(|(word, way)| {
                let way = self.text(&format!("{key}.{word}"), way)?;
                if word.trim().is_empty() {
                    self.bad(key, "has an empty word");
                    return None;
                }
                Some((word.trim().to_string(), way))
            })
            .collect()
    }

    fn section(&mut self, key: &str, v: &Value, mut each: impl FnMut(&mut Self, &str, &Value)) {
        match v.as_table() {
            Some(t) => t.iter().for_each(|(k, v)| each(self, k, v)),
            None => self.bad(key, format!("must be a table ([{key}]), not {}", v.type_str())),
        }
    }

    fn number(&mut self, key: &str, v: &Value, min: f64, max: f64) -> Option<f64> {
        let n = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
        match n {
            Some(n) if n.is_finite() && (min..=max).contains(&n) => Some(n),
            _ => {
                self.bad(key, format!("must be a number from {min} to {max}, not {}", shown(v)));
                None
            }
        }
    }

    fn colour(&mut self, key: &str, v: &Value) -> Option<[u8; 3]> {
        let parsed = v.as_str().and_then(parse_colour);
        if parsed.is_none() {
            self.bad(key, format!("must be a colour as \"#rrggbb\" or \"#rgb\", not {}", shown(v)));
        }
        parsed
    }

    fn position(&mut self, key: &str, v: &Value) -> CaptionPosition {
        match v.as_str() {
            Some("lower" | "bottom") => CaptionPosition::Lower,
            Some("middle" | "centre" | "center") => CaptionPosition::Middle,
            Some("upper" | "top") => CaptionPosition::Upper,
            _ => {
                self.bad(key, format!("must be \"lower\", \"middle\" or \"upper\", not {}", shown(v)));
                CaptionPosition::Lower
            }
        }
    }

    fn language(&mut self, key: &str, v: &Value) -> Option<String> {
        let tag = self.text(key, v)?;
        let primary = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        if (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase()) {
            Some(primary)
        } else {
            self.bad(key, format!("must be a language tag like \"en\" or \"ja\", not {tag:?}"));
            None
        }
    }
}

/// `#rrggbb` or `#rgb`.
pub fn parse_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s.trim().strip_prefix('#')?;
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = hex.as_bytes();
    match b.len() {
        6 => {
            let byte = |i: usize| Some(digit(b[i])? * 16 + digit(b[i + 1])?);
            Some([byte(0)?, byte(2)?, byte(4)?])
        }
        3 => {
            let one = |i: usize| digit(b[i]).map(|d| d * 17);
            Some([one(0)?, one(1)?, one(2)?])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_kit_is_read() {
        let kit = parse(
            r##"
name = "Acme"
call_to_action = "Shop the drop."
language = "en-GB"
avoid = ["cheap", "bargain"]
reference_images = ["style/look.jpg", "https://cdn.example/look2.jpg"]
[say]
tshirt = "T-Shirt"
[caption]
font = "DejaVu Sans"
color = "#fc0"
outline = "#102030"
position = "upper"
[voice]
name = "en_US-joe-medium"
rate = 1.1
[length]
min_seconds = 8
max_seconds = 20
[thresholds]
structure = 0.80
motion = 1
"##,
            Path::new("/brands/acme"),
        )
        .unwrap();
        assert_eq!(kit.name.as_deref(), Some("Acme"));
        assert_eq!(kit.language.as_deref(), Some("en"));
        assert_eq!(kit.avoid, ["cheap", "bargain"]);
        assert_eq!(kit.say, [("tshirt".to_string(), "T-Shirt".to_string())]);
        assert_eq!(kit.caption.colour, [255, 204, 0]);
        assert_eq!(kit.caption.outline, [16, 32, 48]);
        assert_eq!(kit.caption.position, CaptionPosition::Upper);
        assert_eq!(kit.voice.rate, 1.1);
        assert_eq!((kit.min_reel_ms, kit.max_reel_ms), (Some(8_000), Some(20_000)));
        assert_eq!(kit.reference_images, ["/brands/acme/style/look.jpg", "https://cdn.example/look2.jpg"]);
        let thresholds: Vec<(&str, f64)> = kit.thresholds.iter().collect();
        assert_eq!(thresholds, [("motion", 1.0), ("structure", 0.8)]);
    }

    #[test]
    fn every_bad_value_is_named_by_its_key() {
        let problems = parse(
            r##"
nme = "typo"
avoid = "cheap"
video_provider = ["runway", "sora"]
whole_reel = "yes"
[caption]
colour = "red"
position = "left"
[voice]
rate = 3
[length]
min_seconds = 30
max_seconds = 20
[thresholds]
colour = 0.5
structure = 85
mirrored = "low"
sharpness = 0.3
"##,
            Path::new("."),
        )
        .unwrap_err();
        let all = problems.join("\n");
        assert!(all.contains("video_provider") && all.contains("sora"), "{all}");
        for key in ["nme", "avoid", "caption.colour", "caption.position", "voice.rate", "length.min_seconds"] {
            assert!(all.contains(key), "{key} not named in:\n{all}");
        }
        assert!(all.contains("whole_reel") && all.contains("true or false"), "{all}");
        assert!(all.contains("thresholds.colour is not a brand kit key (known here: structure, mirrored"), "{all}");
        assert!(all.contains("thresholds.structure must be a number from 0 to 1, not 85"), "{all}");
        assert!(all.contains("thresholds.mirrored must be a number from 0 to 1, not \"low\""), "{all}");
        assert!(!all.contains("thresholds.sharpness"), "a good threshold beside bad ones is no problem: {all}");
        assert_eq!(problems.len(), 11, "{all}");
        assert!(parse("thresholds = 0.8", Path::new(".")).unwrap_err()[0].contains("must be a table ([thresholds])"));
        assert!(parse("whole_reel = true", Path::new(".")).unwrap().whole_reel);
        assert!(parse("name = ", Path::new(".")).unwrap_err()[0].contains("not valid TOML"));
        assert!(parse("[length]\nmax_seconds = 90", Path::new(".")).unwrap_err()[0].contains("from 6 to 60"));
    }

    #[test]
    fn no_file_is_the_default_kit_and_a_folder_store_is_looked_beside() {
        assert_eq!(parse("", Path::new(".")).unwrap(), BrandKit::default());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(beside_store(dir.path().to_str().unwrap()), None);
        std::fs::write(dir.path().join(FILE_NAME), "name = \"X\"").unwrap();
        let found = beside_store(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(load(&found).unwrap().name.as_deref(), Some("X"));
        assert_eq!(beside_store("https://shop.example"), None);
        let err = load(&dir.path().join("missing.toml")).unwrap_err().to_string();
        assert!(err.contains("missing.toml") && err.contains("cannot read"), "{err}");
    }
}
