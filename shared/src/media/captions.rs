//! Burned-in captions: word timings grouped into short phrases, as an ASS script for libass.
//!
//! Phrases hold at most [`MAX_WORDS`] words and last at most [`MAX_PHRASE_MS`], and end after
//! punctuation. Each shows from its first word's start to its last word's end; a gap shorter
//! than [`BRIDGE_MS`] to the next phrase is bridged so captions do not flicker. The style is
//! DejaVu Sans Bold, white with a thick black outline, centred at the bottom but above the
//! bottom 25% of the frame that ad platforms cover with their own buttons and text.
//!
//! Characters DejaVu lacks (Japanese, Chinese, Korean) are drawn from the font fontconfig offers
//! for them: libass asks it glyph by glyph, and `scripts/setup.sh` installs Noto Sans CJK. Arabic
//! and Hebrew are in DejaVu, and libass (with HarfBuzz and FriBidi) shapes them right to left.

use crate::WordTiming;
use std::fmt::Write;

const MAX_WORDS: usize = 4;
const MAX_PHRASE_MS: u32 = 1600;
const BRIDGE_MS: u32 = 300;
/// A phrase is on screen at least this long (if the next one leaves room).
const MIN_SHOW_MS: u32 = 400;

/// An ASS script (`PlayResX` = `width`, `PlayResY` = `height`) captioning `words`.
pub fn ass_captions(words: &[WordTiming], width: u32, height: u32) -> String {
    let font = (height / 24).max(8);
    let outline = (font as f64 / 11.0).max(1.0).round();
    let margin_v = height * 27 / 100;
    let margin_h = width / 12;
    let mut s = String::new();
    s.push_str("[Script Info]\nScriptType: v4.00+\n");
    let _ = writeln!(s, "PlayResX: {width}\nPlayResY: {height}");
    s.push_str("WrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: TV.709\n\n");
    s.push_str("[V4+ Styles]\n");
    s.push_str(
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
         Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, \
         Alignment, MarginL, MarginR, MarginV, Encoding\n",
    );
    let _ = writeln!(
        s,
        "Style: Caption,DejaVu Sans,{font},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,-1,0,0,0,100,100,0,0,1,{outline},0,2,{margin_h},{margin_h},{margin_v},1\n"
    );
    s.push_str("[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n");
    let phrases = phrases(words);
    for (i, p) in phrases.iter().enumerate() {
        let next_start = phrases.get(i + 1).map(|n| n.start_ms);
        let mut end = p.end_ms.max(p.start_ms + MIN_SHOW_MS);
        if let Some(next) = next_start {
            if next.saturating_sub(p.end_ms) < BRIDGE_MS {
                end = end.max(next);
            }
            end = end.min(next.max(p.end_ms));
        }
        let _ = writeln!(s, "Dialogue: 0,{},{},Caption,,0,0,0,,{}", stamp(p.start_ms), stamp(end), p.text);
    }
    s
}

struct Phrase {
    start_ms: u32,
    end_ms: u32,
    text: String,
}

fn phrases(words: &[WordTiming]) -> Vec<Phrase> {
    let mut out: Vec<Phrase> = Vec::new();
    let mut current: Vec<&WordTiming> = Vec::new();
    let flush = |current: &mut Vec<&WordTiming>, out: &mut Vec<Phrase>| {
        if let (Some(first), Some(last)) = (current.first(), current.last()) {
            let text = current.iter().map(|w| escape(&w.word)).collect::<Vec<_>>().join(" ");
            out.push(Phrase { start_ms: first.start_ms, end_ms: last.end_ms.max(first.start_ms), text });
        }
        current.clear();
    };
    for w in words.iter().filter(|w| !w.word.trim().is_empty()) {
        if let Some(first) = current.first()
            && (current.len() >= MAX_WORDS || w.end_ms.saturating_sub(first.start_ms) > MAX_PHRASE_MS)
        {
            flush(&mut current, &mut out);
        }
        current.push(w);
        if w.word.trim_end().ends_with(['.', ',', '!', '?', ';', ':', '…', '—']) {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// A word as literal ASS text: `{`/`}` escaped (libass), a backslash followed by a word joiner
/// so it cannot start `\N`, `\h` or an escape; line breaks become spaces.
fn escape(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.trim().chars() {
        match c {
            '\\' => out.push_str("\\\u{2060}"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `H:MM:SS.cc`.
fn stamp(ms: u32) -> String {
    let cs = ms / 10;
    format!("{}:{:02}:{:02}.{:02}", cs / 360_000, cs / 6000 % 60, cs / 100 % 60, cs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Media, file_url, filter_value};

    fn w(word: &str, start_ms: u32, end_ms: u32) -> WordTiming {
        WordTiming { word: word.into(), start_ms, end_ms }
    }

    fn dialogues(ass: &str) -> Vec<&str> {
        ass.lines().filter(|l| l.starts_with("Dialogue:")).collect()
    }

    #[test]
    fn words_group_into_short_phrases_without_flicker() {
        let words = [
            w("Soft,", 0, 300),
            w("heavy", 350, 600),
            w("cotton", 620, 900),
            w("with", 950, 1100),
            w("a", 1120, 1150),
            w("kangaroo", 1200, 1600),
            w("pocket.", 1650, 2000),
            w("Yours", 3000, 3300),
        ];
        let ass = ass_captions(&words, 1080, 1920);
        let d = dialogues(&ass);
        assert_eq!(d.len(), 4, "{ass}");
        assert_eq!(d[0], "Dialogue: 0,0:00:00.00,0:00:00.35,Caption,,0,0,0,,Soft,");
        assert_eq!(d[1], "Dialogue: 0,0:00:00.35,0:00:01.20,Caption,,0,0,0,,heavy cotton with a");
        assert_eq!(d[2], "Dialogue: 0,0:00:01.20,0:00:02.00,Caption,,0,0,0,,kangaroo pocket.");
        assert_eq!(d[3], "Dialogue: 0,0:00:03.00,0:00:03.40,Caption,,0,0,0,,Yours");
        assert!(ass.contains("PlayResX: 1080\nPlayResY: 1920"));
        assert!(ass.contains("Style: Caption,DejaVu Sans,80,"), "{ass}");
        assert!(ass.contains(",2,90,90,518,1"), "bottom centre, above the bottom quarter: {ass}");
        let long = [w("Unbelievably", 0, 900), w("comfortable", 900, 1800)];
        assert_eq!(dialogues(&ass_captions(&long, 1080, 1920)).len(), 2, "a phrase lasts ≤ 1.6 s");
    }

    #[test]
    fn override_characters_are_escaped() {
        let ass = ass_captions(&[w("{\\i1}50%", 0, 500), w("a\\Nb", 500, 900)], 180, 320);
        let d = dialogues(&ass);
        assert!(d[0].ends_with(",,\\{\\\u{2060}i1\\}50% a\\\u{2060}Nb"), "{d:?}");
        assert_eq!(stamp(3_723_450), "1:02:03.45");
    }

    /// Whether fontconfig knows a font for `lang`; when not, skips the test (says why), or fails it
    /// under CI, where `scripts/setup.sh` must have installed one.
    fn font_for(lang: &str) -> bool {
        let listed = std::process::Command::new("fc-list")
            .arg(format!(":lang={lang}"))
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
        if !listed {
            assert!(std::env::var_os("CI").is_none(), "no font for {lang} under CI: scripts/setup.sh installs one");
            eprintln!("skipped: no font for {lang} (`fc-list :lang={lang}` is empty; run scripts/setup.sh)");
        }
        listed
    }

    /// One 360x640 frame with `text` burned in by the reel's caption style, as RGB pixels.
    async fn caption_frame(dir: &std::path::Path, name: &str, text: &str) -> image::RgbImage {
        let ass_path = dir.join(format!("{name}.ass"));
        std::fs::write(&ass_path, ass_captions(&[w(text, 0, 1000)], 360, 640)).unwrap();
        let png = dir.join(format!("{name}.png"));
        let vf = format!("ass=filename={}", filter_value(&ass_path.to_string_lossy()));
        let args: Vec<String> = ["-y", "-f", "lavfi", "-i", "color=c=0x808080:s=360x640:d=1:r=10", "-ss", "0.5", "-vf"]
            .map(String::from)
            .into_iter()
            .chain([vf])
            .chain(["-frames:v", "1", "-update", "1", "-f", "image2"].map(String::from))
            .chain([file_url(&png)])
            .collect();
        Media::default().ffmpeg(&args, "burn a caption").await.unwrap();
        image::open(&png).unwrap().to_rgb8()
    }

    fn differing_pixels(a: &image::RgbImage, b: &image::RgbImage) -> usize {
        a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count()
    }

    /// With no font for a script, every character draws as the same box, so two different lines of
    /// the same length draw the same pixels. With the font `scripts/setup.sh` installs they differ.
    #[tokio::test]
    async fn japanese_captions_draw_glyphs_not_boxes() {
        if !font_for("ja") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let shirt = caption_frame(dir.path(), "shirt", "日本製のシャツ").await;
        let hoodie = caption_frame(dir.path(), "hoodie", "東京発のパーカ").await;
        let blank = caption_frame(dir.path(), "blank", " ").await;
        assert!(differing_pixels(&shirt, &blank) > 500, "the line is drawn");
        let differ = differing_pixels(&shirt, &hoodie);
        assert!(differ > 500, "two Japanese lines draw alike ({differ} pixels differ): the glyphs are boxes");
    }

    /// Arabic is shaped (letters join) when libass has HarfBuzz: the joined word differs from the
    /// same letters kept apart by zero-width non-joiners, which draw nothing themselves.
    #[tokio::test]
    async fn arabic_captions_are_shaped() {
        if !font_for("ar") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let joined = caption_frame(dir.path(), "joined", "سلام").await;
        let apart = caption_frame(dir.path(), "apart", "س\u{200c}ل\u{200c}ا\u{200c}م").await;
        let differ = differing_pixels(&joined, &apart);
        assert!(differ > 200, "joined and separate letters draw alike ({differ} pixels differ): not shaped");
    }

    #[tokio::test]
    async fn libass_renders_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let ass_path = dir.path().join("it's, [captions].ass");
        let words = [w("Hello", 0, 400), w("{world}", 400, 900), w("back\\slash", 900, 1000)];
        std::fs::write(&ass_path, ass_captions(&words, 180, 320)).unwrap();
        let m = Media::default();
        let frame = |vf: Option<String>, name: &'static str| {
            let (m, dir) = (m.clone(), dir.path().to_path_buf());
            async move {
                let png = dir.join(name);
                let mut args: Vec<String> =
                    ["-y", "-f", "lavfi", "-i", "color=c=0x808080:s=180x320:d=1:r=10", "-ss", "0.5"]
                        .map(String::from)
                        .to_vec();
                if let Some(vf) = vf {
                    args.extend(["-vf".into(), vf]);
                }
                args.extend(["-frames:v", "1", "-update", "1", "-f", "image2"].map(String::from));
                args.push(file_url(&png));
                m.ffmpeg(&args, "burn test captions").await.unwrap();
                image::open(&png).unwrap().to_rgb8()
            }
        };
        let plain = frame(None, "plain.png").await;
        let captioned =
            frame(Some(format!("ass=filename={}", filter_value(&ass_path.to_string_lossy()))), "cap.png").await;
        let changed: Vec<(u32, u32)> = captioned
            .enumerate_pixels()
            .filter(|(x, y, p)| p.0 != plain.get_pixel(*x, *y).0)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(changed.len() > 100, "captions drew {} pixels", changed.len());
        let lowest = changed.iter().map(|p| p.1).max().unwrap();
        let whitest = captioned.pixels().filter(|p| p.0.iter().all(|&c| c > 230)).count();
        assert!(lowest < 320 * 3 / 4, "captions stay above the bottom quarter: lowest row {lowest}");
        assert!(whitest > 20, "white text");
    }
}
