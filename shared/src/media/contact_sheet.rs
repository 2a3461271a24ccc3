//! A contact sheet of a judged reel: one PNG a person reads at a glance. A header with the reel and
//! the round, the overall verdict and each judge's; then one row per shot: its reference photo
//! (upright, as people see it: [`super::photo`]), frames sampled evenly through the shot with their
//! time in it (the time the judge's reasons give), and beside them the shot's verdict (a green or red
//! bar and badge), its checks' scores and its failing reasons, wrapped to fit.
//!
//! The pictures are laid out here with the `image` crate, every tile small ([`TILE_HEIGHT`] pixels
//! high), so a reel of many shots stays a small picture; the text is drawn by one ffmpeg run
//! (`drawtext`, DejaVu Sans), each piece read from its own file with expansion off (`textfile=`,
//! `expansion=none`): reasons and product words are untrusted and never pass through a filter's
//! quoting.

use super::{Media, MediaError, file_url, filter_value, photo};
use image::{Rgb, RgbImage, imageops};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The height of a frame's tile and of the photo's box.
pub const TILE_HEIGHT: u32 = 160;
/// A frame's tile is at most this wide (a landscape reel's frames are made lower instead).
pub const MAX_TILE_WIDTH: u32 = 200;
/// Frames shown per shot.
pub const FRAMES_PER_SHOT: usize = 5;
/// The bold face (headings, verdicts).
pub const FONT_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
/// The regular face (scores, reasons, times), the bold one where it is not installed.
pub const FONT_REGULAR: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// How long the drawing run may take.
const DRAW_TIMEOUT: Duration = Duration::from_secs(60);

/// A passing verdict's colour.
pub const PASS_COLOUR: [u8; 3] = [30, 150, 70];
/// A failing verdict's colour.
pub const FAIL_COLOUR: [u8; 3] = [205, 35, 35];
/// Not judged (no verdict for the round).
const UNKNOWN_COLOUR: [u8; 3] = [130, 130, 130];
const BACKGROUND: [u8; 3] = [255, 255, 255];
const ROW_SHADE: [u8; 3] = [246, 246, 246];
const PHOTO_BACK: [u8; 3] = [228, 228, 228];
const INK: [u8; 3] = [25, 25, 25];
const SCORE_INK: [u8; 3] = [75, 75, 75];
const REASON_INK: [u8; 3] = [165, 20, 20];

const MARGIN: u32 = 12;
const BAR_WIDTH: u32 = 6;
const GAP: u32 = 8;
const FRAME_GAP: u32 = 6;
const ROW_PAD: u32 = 8;
const LABEL_HEIGHT: u32 = 16;
const PANEL_WIDTH: u32 = 520;
const BADGE: (u32, u32) = (50, 20);
const TITLE_PX: u32 = 20;
const HEAD_PX: u32 = 14;
const BODY_PX: u32 = 12;
const LABEL_PX: u32 = 11;
const LINE_PX: u32 = 16;
/// Lines under the header's title: the judges, then the failures no shot explains.
const HEADER_LINES: u32 = 4;

/// What the sheet shows of a reel.
#[derive(Debug, Clone)]
pub struct ContactSheet {
    /// What it is of, the header's title (`<reel id> · round 2`; a clip's file name).
    pub title: String,
    /// The round's verdict, `None` when it has none yet.
    pub passed: Option<bool>,
    /// One line per judge ("spec-checks: fail, 3 of 41 checks failed").
    pub judges: Vec<String>,
    /// The failures no shot explains ("loudness: -19.0 LUFS …").
    pub reasons: Vec<String>,
    /// The size frames are drawn at ([`tile_size`]).
    pub tile: (u32, u32),
    pub shots: Vec<SheetShot>,
}

/// One shot's row.
#[derive(Debug, Clone)]
pub struct SheetShot {
    /// 0-based, as in the plan and the checks.
    pub index: u32,
    /// Where it starts in the reel and how long it is.
    pub start_ms: u32,
    pub duration_ms: u32,
    /// The reference photo's file (`None`: gone from the store; a blank box says so).
    pub photo: Option<PathBuf>,
    /// Frames sampled through the shot (ms from its start), at most [`FRAMES_PER_SHOT`] drawn;
    /// scaled to the tile when they are not that size.
    pub frames: Vec<(u32, RgbImage)>,
    /// `None`: no check is about this shot.
    pub passed: Option<bool>,
    /// Each of its checks: name, score (0–1) and whether it passed.
    pub scores: Vec<(String, f64, bool)>,
    /// Its failing checks' reasons.
    pub reasons: Vec<String>,
}

impl SheetShot {
    /// The row of shot `index` judged by `checks` (those about this shot): its verdict, scores, and
    /// failing reasons without the "shot n: " the row already says.
    pub fn judged(
        index: u32,
        start_ms: u32,
        duration_ms: u32,
        photo: Option<PathBuf>,
        frames: Vec<(u32, RgbImage)>,
        checks: &[&crate::Check],
    ) -> Self {
        let prefix = format!("shot {}: ", index + 1);
        SheetShot {
            index,
            start_ms,
            duration_ms,
            photo,
            frames,
            passed: (!checks.is_empty()).then(|| checks.iter().all(|c| c.passed)),
            scores: checks.iter().map(|c| (c.name.clone(), c.score, c.passed)).collect(),
            reasons: checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: {}", c.name, c.detail.strip_prefix(&prefix).unwrap_or(&c.detail)))
                .collect(),
        }
    }
}

/// The size a reel of `width` x `height` is shown at on a sheet: [`TILE_HEIGHT`] high, at most
/// [`MAX_TILE_WIDTH`] wide, even sides.
pub fn tile_size(width: u32, height: u32) -> (u32, u32) {
    let (w, h) = (width.max(1) as u64, height.max(1) as u64);
    let even = |v: u64| (v.max(2) as u32 + 1) & !1;
    let tw = TILE_HEIGHT as u64 * w / h;
    if tw <= MAX_TILE_WIDTH as u64 {
        (even(tw), TILE_HEIGHT)
    } else {
        (MAX_TILE_WIDTH, even(MAX_TILE_WIDTH as u64 * h / w))
    }
}

/// `n` of `items` spread evenly through them (the first and the last among them), or all of them.
pub fn evenly<T>(items: Vec<T>, n: usize) -> Vec<T> {
    let len = items.len();
    if len <= n {
        return items;
    }
    let picks: Vec<usize> = (0..n).map(|i| if n == 1 { len / 2 } else { i * (len - 1) / (n - 1) }).collect();
    items.into_iter().enumerate().filter(|(k, _)| picks.contains(k)).map(|(_, v)| v).collect()
}

/// A rectangle on the sheet: x, y, width, height.
pub type Rect = (u32, u32, u32, u32);

/// Where everything goes on a sheet of `shots` rows of frames `tile` big.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    pub tile: (u32, u32),
    pub shots: usize,
}

impl Layout {
    pub fn new(shots: usize, tile: (u32, u32)) -> Self {
        Self { tile, shots }
    }
    fn header_height(&self) -> u32 {
        MARGIN + TITLE_PX + 12 + HEADER_LINES * LINE_PX + GAP
    }
    fn row_height(&self) -> u32 {
        ROW_PAD + self.tile.1.max(TILE_HEIGHT) + LABEL_HEIGHT + ROW_PAD
    }
    /// The whole row of shot `row` (its position on the sheet, not its index).
    pub fn row(&self, row: usize) -> Rect {
        (0, self.header_height() + row as u32 * self.row_height(), self.width(), self.row_height())
    }
    /// The verdict bar at the row's left.
    pub fn bar(&self, row: usize) -> Rect {
        let (_, y, _, h) = self.row(row);
        (MARGIN, y + ROW_PAD / 2, BAR_WIDTH, h - ROW_PAD)
    }
    /// The box the reference photo is fitted in (square, [`TILE_HEIGHT`] a side).
    pub fn photo(&self, row: usize) -> Rect {
        let (_, y, _, _) = self.row(row);
        (MARGIN + BAR_WIDTH + GAP, y + ROW_PAD, TILE_HEIGHT, TILE_HEIGHT)
    }
    /// The `k`th frame's tile.
    pub fn frame(&self, row: usize, k: usize) -> Rect {
        let (px, py, pw, _) = self.photo(row);
        let (w, h) = self.tile;
        (px + pw + 2 * GAP + k as u32 * (w + FRAME_GAP), py + (TILE_HEIGHT.saturating_sub(h)) / 2, w, h)
    }
    /// The text beside the frames: the verdict badge at its top left.
    pub fn panel(&self, row: usize) -> Rect {
        let (_, y, _, h) = self.row(row);
        (self.panel_x(), y + ROW_PAD, PANEL_WIDTH, h - 2 * ROW_PAD)
    }
    /// The header's verdict badge.
    pub fn badge(&self) -> Rect {
        (MARGIN, MARGIN, 64, TITLE_PX + 6)
    }
    pub fn width(&self) -> u32 {
        self.panel_x() + PANEL_WIDTH + MARGIN
    }
    pub fn height(&self) -> u32 {
        self.header_height() + self.shots as u32 * self.row_height() + MARGIN
    }
    fn panel_x(&self) -> u32 {
        let frames_x = MARGIN + BAR_WIDTH + GAP + TILE_HEIGHT + 2 * GAP;
        frames_x + FRAMES_PER_SHOT as u32 * (self.tile.0 + FRAME_GAP) - FRAME_GAP + GAP
    }
}

/// A piece of text to draw: where (top left), how big, which face and colour.
struct Text {
    x: u32,
    y: u32,
    px: u32,
    bold: bool,
    colour: [u8; 3],
    lines: Vec<String>,
}

impl Media {
    /// Draws `sheet` as a PNG (the bytes), with work files in `dir`. Photos that do not decode get
    /// a blank box; a failing ffmpeg run names the sheet's reel.
    pub async fn contact_sheet(&self, sheet: ContactSheet, dir: &Path) -> Result<Vec<u8>, MediaError> {
        let layout = Layout::new(sheet.shots.len(), sheet.tile);
        let what = format!("draw the contact sheet of {}", sheet.title);
        let (canvas, texts) = tokio::task::spawn_blocking(move || compose(&sheet, &layout))
            .await
            .map_err(|e| MediaError::BadOutput(format!("{what}: {e}")))?;
        let io = |e: std::io::Error| MediaError::Io { what: what.clone(), source: e };
        let raw = dir.join("sheet.rgb");
        tokio::fs::write(&raw, canvas.as_raw()).await.map_err(io)?;
        let regular = if Path::new(FONT_REGULAR).exists() { FONT_REGULAR } else { FONT_BOLD };
        let mut graph = String::from("null");
        for (n, t) in texts.iter().enumerate() {
            let text = t.lines.join("\n");
            if text.trim().is_empty() {
                continue;
            }
            let file = dir.join(format!("sheet-text-{n}.txt"));
            tokio::fs::write(&file, text.as_bytes()).await.map_err(io)?;
            let [r, g, b] = t.colour;
            let _ = write!(
                graph,
                ",drawtext=fontfile={}:textfile={}:expansion=none:fontsize={}:line_spacing={}:fontcolor=0x{r:02x}{g:02x}{b:02x}:x={}:y={}",
                filter_value(if t.bold { FONT_BOLD } else { regular }),
                filter_value(&file.display().to_string()),
                t.px,
                LINE_PX.saturating_sub(t.px + t.px / 6),
                t.x,
                t.y
            );
        }
        let script = dir.join("sheet.filter");
        tokio::fs::write(&script, graph.as_bytes()).await.map_err(io)?;
        let args: Vec<String> = vec![
            "-f".into(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "-video_size".into(),
            format!("{}x{}", canvas.width(), canvas.height()),
            "-i".into(),
            file_url(&raw),
            "-filter_script:v".into(),
            file_url(&script),
            "-frames:v".into(),
            "1".into(),
            "-c:v".into(),
            "png".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "-f".into(),
            "image2pipe".into(),
            "pipe:1".into(),
        ];
        let out = match tokio::time::timeout(DRAW_TIMEOUT, self.ffmpeg(&args, &what)).await {
            Ok(out) => out?,
            Err(_) => {
                return Err(MediaError::Failed {
                    tool: self.ffmpeg.display().to_string(),
                    what,
                    status: format!("timed out after {} s", DRAW_TIMEOUT.as_secs()),
                    stderr_tail: String::new(),
                });
            }
        };
        if !out.stdout.starts_with(b"\x89PNG") {
            return Err(MediaError::BadOutput(format!("{what}: ffmpeg wrote no PNG")));
        }
        Ok(out.stdout)
    }
}

/// The sheet's pictures and the texts to draw on them.
fn compose(sheet: &ContactSheet, layout: &Layout) -> (RgbImage, Vec<Text>) {
    let mut canvas = RgbImage::from_pixel(layout.width(), layout.height(), Rgb(BACKGROUND));
    let mut texts = Vec::new();
    let text_width = layout.width() - 2 * MARGIN;

    // The header: the verdict badge, the reel and round, each judge, the failures of no shot.
    let verdict = verdict_colour(sheet.passed);
    let (bx, by, bw, bh) = layout.badge();
    fill(&mut canvas, (bx, by, bw, bh), verdict);
    texts.push(Text {
        x: bx + 8,
        y: by + 4,
        px: HEAD_PX + 2,
        bold: true,
        colour: BACKGROUND,
        lines: vec![verdict_word(sheet.passed).into()],
    });
    texts.push(Text {
        x: bx + bw + GAP,
        y: by + 2,
        px: TITLE_PX,
        bold: true,
        colour: INK,
        lines: vec![clean(&sheet.title)],
    });
    let mut lines: Vec<String> = sheet.judges.iter().flat_map(|j| wrap(j, text_width, BODY_PX)).collect();
    let judge_lines = lines.len();
    lines.extend(sheet.reasons.iter().flat_map(|r| wrap(r, text_width, BODY_PX)));
    let lines = fit(lines, HEADER_LINES as usize, text_width, BODY_PX);
    let (head, rest) = lines.split_at(judge_lines.min(lines.len()));
    let top = by + bh + 8;
    texts.push(Text { x: MARGIN, y: top, px: BODY_PX, bold: false, colour: INK, lines: head.to_vec() });
    texts.push(Text {
        x: MARGIN,
        y: top + head.len() as u32 * LINE_PX,
        px: BODY_PX,
        bold: false,
        colour: REASON_INK,
        lines: rest.to_vec(),
    });

    for (row, shot) in sheet.shots.iter().enumerate() {
        let colour = verdict_colour(shot.passed);
        if row % 2 == 1 {
            fill(&mut canvas, layout.row(row), ROW_SHADE);
        }
        fill(&mut canvas, layout.bar(row), colour);

        // The reference photo, fitted in its box.
        let (px, py, pw, ph) = layout.photo(row);
        fill(&mut canvas, (px, py, pw, ph), PHOTO_BACK);
        match shot.photo.as_deref().and_then(|p| small_photo(p, pw, ph)) {
            Some(img) => {
                let (ox, oy) = (px + (pw - img.width()) / 2, py + (ph - img.height()) / 2);
                imageops::replace(&mut canvas, &img, ox as i64, oy as i64);
            }
            None => texts.push(Text {
                x: px + 8,
                y: py + ph / 2 - 8,
                px: BODY_PX,
                bold: false,
                colour: REASON_INK,
                lines: vec!["photo missing".into()],
            }),
        }
        texts.push(label(px, py + ph + 2, "photo"));

        // The frames, with their time in the shot.
        let picks = evenly(shot.frames.iter().collect(), FRAMES_PER_SHOT);
        for (k, (t, frame)) in picks.into_iter().enumerate() {
            let (fx, fy, fw, fh) = layout.frame(row, k);
            if (frame.width(), frame.height()) == (fw, fh) {
                imageops::replace(&mut canvas, frame, fx as i64, fy as i64);
            } else {
                let scaled = imageops::resize(frame, fw, fh, imageops::FilterType::Triangle);
                imageops::replace(&mut canvas, &scaled, fx as i64, fy as i64);
            }
            texts.push(label(fx, py + TILE_HEIGHT + 2, &format!("{:.1} s", *t as f64 / 1000.0)));
        }

        // The verdict, the scores and the reasons.
        let (tx, ty, tw, th) = layout.panel(row);
        fill(&mut canvas, (tx, ty, BADGE.0, BADGE.1), colour);
        texts.push(Text {
            x: tx + 6,
            y: ty + 4,
            px: BODY_PX,
            bold: true,
            colour: BACKGROUND,
            lines: vec![verdict_word(shot.passed).into()],
        });
        let end = shot.start_ms + shot.duration_ms;
        texts.push(Text {
            x: tx + BADGE.0 + GAP,
            y: ty + 3,
            px: HEAD_PX,
            bold: true,
            colour: INK,
            lines: vec![format!(
                "shot {} · {:.1}–{:.1} s of the reel",
                shot.index + 1,
                shot.start_ms as f64 / 1000.0,
                end as f64 / 1000.0
            )],
        });
        let scores = shot
            .scores
            .iter()
            .map(|(name, score, passed)| format!("{} {score:.2}{}", clean(name), if *passed { "" } else { " ✗" }))
            .collect::<Vec<_>>()
            .join("   ");
        let room = ((th - BADGE.1 - 6) / LINE_PX) as usize;
        let score_lines = fit(wrap(&scores, tw, BODY_PX), 2.min(room), tw, BODY_PX);
        let reason_lines: Vec<String> =
            shot.reasons.iter().flat_map(|r| wrap(&format!("• {r}"), tw, BODY_PX)).collect();
        let reason_lines = fit(reason_lines, room - score_lines.len(), tw, BODY_PX);
        let top = ty + BADGE.1 + 6;
        let below = top + score_lines.len() as u32 * LINE_PX;
        texts.push(Text { x: tx, y: top, px: BODY_PX, bold: false, colour: SCORE_INK, lines: score_lines });
        texts.push(Text { x: tx, y: below, px: BODY_PX, bold: false, colour: REASON_INK, lines: reason_lines });
    }
    (canvas, texts)
}

fn label(x: u32, y: u32, text: &str) -> Text {
    Text { x, y, px: LABEL_PX, bold: false, colour: SCORE_INK, lines: vec![text.into()] }
}

fn verdict_colour(passed: Option<bool>) -> [u8; 3] {
    match passed {
        Some(true) => PASS_COLOUR,
        Some(false) => FAIL_COLOUR,
        None => UNKNOWN_COLOUR,
    }
}

fn verdict_word(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "—",
    }
}

fn fill(canvas: &mut RgbImage, (x, y, w, h): Rect, colour: [u8; 3]) {
    for yy in y..(y + h).min(canvas.height()) {
        for xx in x..(x + w).min(canvas.width()) {
            canvas.put_pixel(xx, yy, Rgb(colour));
        }
    }
}

/// The photo at `path` upright, on white, fitted in `w` x `h`; `None` when it does not read.
fn small_photo(path: &Path, w: u32, h: u32) -> Option<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| tracing::warn!("contact sheet: {}: {e}", path.display())).ok()?;
    let up =
        photo::decode_upright(&bytes).map_err(|e| tracing::warn!("contact sheet: {}: {e}", path.display())).ok()?;
    drop(bytes);
    Some(photo::on_white(up.image.thumbnail(w, h)))
}

/// Untrusted text on one line: controls (newlines, tabs, bidi overrides) become spaces, runs of
/// spaces one.
fn clean(text: &str) -> String {
    let spaced: String =
        text.chars().map(|c| if c.is_control() || crate::reorders_text(c) { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// About how wide `c` is in DejaVu Sans, in 1/100 of the font size (a little generous, so a
/// wrapped line stays inside its panel).
fn advance(c: char) -> u32 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 34,
        'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' | '"' => 44,
        'm' | 'w' | 'M' | 'W' | '%' | '@' => 96,
        'A'..='Z' => 76,
        c if (c as u32) >= 0x2e80 => 100,
        _ => 64,
    }
}

fn text_width(text: &str, px: u32) -> u32 {
    text.chars().map(advance).sum::<u32>() * px / 100
}

/// `text` (cleaned) in lines at most `width` pixels wide at `px`; words too long for a line are cut.
fn wrap(text: &str, width: u32, px: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in clean(text).split(' ').filter(|w| !w.is_empty()) {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if text_width(&candidate, px) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut piece = String::new();
        for c in word.chars() {
            if !piece.is_empty() && text_width(&format!("{piece}{c}"), px) > width {
                lines.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        line = piece;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// At most `max` of `lines`, the last one saying how many more there were.
fn fit(mut lines: Vec<String>, max: usize, width: u32, px: u32) -> Vec<String> {
    if lines.len() <= max {
        return lines;
    }
    if max == 0 {
        return Vec::new();
    }
    let more = format!(" … (+{} lines)", lines.len() - max + 1);
    lines.truncate(max);
    let last = lines.last_mut().expect("max > 0");
    while !last.is_empty() && text_width(&format!("{last}{more}"), px) > width {
        last.pop();
    }
    last.push_str(&more);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{BLUE, GREEN, RED, WHITE, jpeg_turned, picture};

    #[test]
    fn tiles_are_small_and_sheets_narrow() {
        assert_eq!(tile_size(1080, 1920), (90, 160));
        assert_eq!(tile_size(1080, 1350), (128, 160));
        assert_eq!(tile_size(1920, 1080), (200, 112));
        for tile in [(90, 160), (160, 160), (200, 112)] {
            let l = Layout::new(8, tile);
            assert!(l.width() < 2000 && l.height() < 2000, "{tile:?}: {}x{}", l.width(), l.height());
            let (x, _, w, _) = l.frame(0, FRAMES_PER_SHOT - 1);
            assert!(x + w < l.panel(0).0, "{tile:?}");
        }
    }

    #[test]
    fn frames_are_picked_evenly_and_text_wrapped_to_fit() {
        assert_eq!(evenly((0..21).collect(), 5), [0, 5, 10, 15, 20]);
        assert_eq!(evenly((0..3).collect(), 5), [0, 1, 2]);
        assert_eq!(evenly((0..9).collect(), 1), [4]);
        let long = "does not line up with its photo at 2.9 s (fit 0.49, at least 0.85): another product, or the product changed shape";
        let lines = wrap(long, 200, BODY_PX);
        assert!(lines.len() > 2 && lines.iter().all(|l| text_width(l, BODY_PX) <= 200), "{lines:?}");
        assert_eq!(lines.join(" "), long);
        assert_eq!(clean("a\nb\t\tc\u{202e}d  "), "a b c d");
        let cut = wrap(&"x".repeat(100), 100, BODY_PX);
        assert!(cut.len() > 1 && cut.iter().all(|l| text_width(l, BODY_PX) <= 100), "{cut:?}");
        assert_eq!(cut.concat(), "x".repeat(100));
        let fitted = fit(lines.clone(), 2, 200, BODY_PX);
        assert_eq!(fitted.len(), 2);
        assert!(fitted[1].ends_with(&format!("(+{} lines)", lines.len() - 1)), "{fitted:?}");
    }

    fn mean(img: &RgbImage, (x, y, w, h): Rect) -> [f64; 3] {
        let mut sum = [0.0; 3];
        for yy in y..y + h {
            for xx in x..x + w {
                let p = img.get_pixel(xx, yy).0;
                (0..3).for_each(|c| sum[c] += p[c] as f64);
            }
        }
        sum.map(|s| s / (w * h) as f64)
    }

    fn close(a: [f64; 3], b: [u8; 3], within: f64) -> bool {
        (0..3).all(|c| (a[c] - b[c] as f64).abs() <= within)
    }

    /// A sheet of three shots from generated photos and frames: its size, each row's photo in the
    /// first column, red and green verdicts, and untrusted text drawn as it is.
    #[tokio::test]
    async fn a_sheet_shows_each_shot_beside_its_photo_with_its_verdict() {
        let media = Media::default();
        let dir = tempfile::tempdir().unwrap();
        let colours = [RED, BLUE, GREEN];
        let mut shots = Vec::new();
        let tile = tile_size(1080, 1920);
        for (i, colour) in colours.iter().enumerate() {
            // Shot 1's photo is stored turned (EXIF 6): it must come out upright all the same.
            // White along the top, so a photo left lying on its side would show it on the left.
            let img = picture(300, 400, *colour, &[(0, 0, 300, 100, WHITE)]);
            let path = dir.path().join(format!("photo-{i}.jpg"));
            let stored = if i == 1 { jpeg_turned(&image::imageops::rotate270(&img), 6) } else { jpeg_turned(&img, 1) };
            std::fs::write(&path, stored).unwrap();
            let frames =
                (0..25).map(|k| (k * 100, picture(tile.0, tile.1, WHITE, &[(0, 0, 45, 160, *colour)]))).collect();
            let passed = i != 1;
            shots.push(SheetShot {
                index: i as u32,
                start_ms: i as u32 * 3000,
                duration_ms: 3000,
                photo: Some(path),
                frames,
                passed: Some(passed),
                scores: vec![
                    ("structure".into(), if passed { 0.93 } else { 0.41 }, passed),
                    ("colour".into(), 0.88, true),
                ],
                reasons: if passed {
                    vec![]
                } else {
                    vec![
                        "structure: it's \"another\" product: 50% off \\ %{pts} [x];y,\nnext line\ttab ' : \\\\ %%"
                            .into(),
                        "colour: ".to_string() + &"very long reason ".repeat(40),
                    ]
                },
            });
        }
        let sheet = ContactSheet {
            title: "tee--0123456789ab · round 2".into(),
            passed: Some(false),
            judges: vec!["spec-checks: fail, 1 of 20 checks failed".into(), "product-match: pass".into()],
            reasons: vec!["loudness: -19 LUFS: \"quiet\" \\ 100%".into()],
            tile,
            shots,
        };
        let started = std::time::Instant::now();
        let png = media.contact_sheet(sheet.clone(), dir.path()).await.unwrap();
        let took = started.elapsed();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        let layout = Layout::new(3, tile);
        assert_eq!((img.width(), img.height()), (layout.width(), layout.height()));
        eprintln!("a 3-shot sheet: {}x{}, {} bytes, {took:?}", img.width(), img.height(), png.len());
        for (row, colour) in colours.iter().enumerate() {
            // The photo (3:4, fitted upright in its square box) in the first column.
            let (x, y, w, h) = layout.photo(row);
            let (top, body) = ((x + w / 2 - 30, y + 3, 60, 30), (x + w / 2 - 30, y + 50, 60, h - 60));
            assert!(close(mean(&img, body), *colour, 12.0), "row {row}: {:?}", mean(&img, body));
            assert!(close(mean(&img, top), WHITE, 12.0), "row {row}: {:?}", mean(&img, top));
            // Its frames.
            let (fx, fy, _, fh) = layout.frame(row, 2);
            assert!(close(mean(&img, (fx + 5, fy + 5, 30, fh - 10)), *colour, 12.0), "row {row} frame");
            let want = if row == 1 { FAIL_COLOUR } else { PASS_COLOUR };
            assert!(close(mean(&img, layout.bar(row)), want, 1.0), "row {row} bar");
        }
        // Text was drawn: dark pixels in the failing row's panel, red ones among them.
        let (px, py, pw, ph) = layout.panel(1);
        let reddish = (py + 30..py + ph)
            .flat_map(|y| (px..px + pw).map(move |x| (x, y)))
            .filter(|(x, y)| {
                let [r, g, b] = img.get_pixel(*x, *y).0;
                r > 120 && g < 90 && b < 90
            })
            .count();
        assert!(reddish > 200, "{reddish} reddish text pixels");
    }

    #[tokio::test]
    async fn a_photo_that_does_not_read_leaves_a_blank_box() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"not a picture").unwrap();
        let shot = SheetShot {
            index: 0,
            start_ms: 0,
            duration_ms: 2000,
            photo: Some(bad),
            frames: vec![],
            passed: None,
            scores: vec![],
            reasons: vec![],
        };
        let sheet = ContactSheet {
            title: "tee--0123456789ab · round 1".into(),
            passed: None,
            judges: vec![],
            reasons: vec![],
            tile: tile_size(1080, 1080),
            shots: vec![shot.clone(), SheetShot { photo: None, ..shot }],
        };
        let png = Media::default().contact_sheet(sheet.clone(), dir.path()).await.unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.height(), Layout::new(2, sheet.tile).height());
    }
}
