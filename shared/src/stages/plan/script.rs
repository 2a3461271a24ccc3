//! The script: one line per shot sized to the shot at the voice's pace, through the honesty guard,
//! spoken, and fitted to the reel's length; then laid out as one loudness-normalised voice-over.
//!
//! Fitting never fails a product: while the lines need more reel than the longest allowed, the
//! longest line is cut to 70 % of its words (at a clause or word boundary; by characters in
//! languages written without spaces) and spoken again, and a line of three words or fewer is
//! dropped (its shot is silent). Once the lines fit, the shots share out what is left of the
//! target length evenly, so the reel is exactly the length asked for whenever its speech fits.

use super::shots::Pick;
use crate::copy;
use crate::media::{self as wav, Pcm};
use crate::ports::{ProviderError, ShotBrief, Speech, SpeechRequest, WriteRequest};
use crate::stages::Ports;
use crate::{BrandKit, DroppedClaim, LineTiming, Product, ShotPlan, Usd, WordTiming};
use std::collections::HashMap;

/// Silence before a line starts within its shot.
pub const LEAD_MS: u32 = 250;
/// Silence after a line ends, before the cut.
pub const TAIL_MS: u32 = 450;
/// No shot is shorter than this, so every camera move reads.
pub const MIN_SHOT_MS: u32 = 2_500;
/// A line is never sized under this many words.
const MIN_WORDS: usize = 2;
/// Lines at or under this many words are dropped rather than cut further.
const DROP_AT_WORDS: usize = 3;

/// Why no script could be made.
#[derive(Debug)]
pub enum ScriptFailure {
    /// A provider failed (retry if it says so).
    Provider { doing: &'static str, error: ProviderError },
    /// Something about this product: the words say what.
    Product(String),
}

/// The spoken script of one reel, fitted.
#[derive(Debug, Clone)]
pub struct Script {
    pub lines: Vec<String>,
    /// `None` for a silent shot.
    pub speeches: Vec<Option<Speech>>,
    pub durations: Vec<u32>,
    pub dropped: Vec<DroppedClaim>,
    pub notes: Vec<String>,
    pub cost: Usd,
    /// Characters sent to the voice, for the ledger.
    pub characters: usize,
}

/// Everything the script of one reel depends on.
pub struct Brief<'a> {
    pub product: &'a Product,
    pub picks: &'a [Pick<'a>],
    pub brand: &'a BrandKit,
    pub language: &'a str,
    pub colour: Option<&'a str>,
    pub rejections: &'a [String],
    /// The length asked for, already inside `bounds`.
    pub length_ms: u32,
    /// Shortest and longest reel allowed.
    pub bounds: (u32, u32),
}

pub async fn write(ports: &Ports, b: &Brief<'_>) -> Result<Script, ScriptFailure> {
    let n = b.picks.len() as u32;
    let nominal = b.length_ms / n.max(1);
    let rate = b.brand.voice.rate.clamp(0.5, 2.0);
    let wps = f64::from(ports.voice.words_per_second(b.language) * rate).max(0.5);
    let budget = |ms: u32| -> usize {
        let words = (f64::from(ms.saturating_sub(LEAD_MS + TAIL_MS)) / 1000.0 * wps).floor() as usize;
        words.max(MIN_WORDS)
    };
    let briefs: Vec<ShotBrief> = b
        .picks
        .iter()
        .map(|p| ShotBrief {
            role: p.role,
            kind: p.reference.kind,
            alt: p.reference.alt.clone(),
            max_words: budget(nominal),
        })
        .collect();
    let request = WriteRequest {
        product: b.product,
        shots: &briefs,
        brand: b.brand,
        language: b.language,
        colour: b.colour,
        rejections: b.rejections,
    };
    let written = ports
        .writer
        .write(&request)
        .await
        .map_err(|error| ScriptFailure::Provider { doing: "writing the script", error })?;
    if written.len() != briefs.len() {
        return Err(ScriptFailure::Product(format!(
            "the writer {} gave {} lines for {} shots",
            ports.writer.name(),
            written.len(),
            briefs.len()
        )));
    }
    let guarded = copy::guard(&written, b.product, b.brand, b.colour);
    let mut lines = guarded.lines;
    let mut notes = Vec::new();

    let mut spoken: HashMap<String, Speech> = HashMap::new();
    let mut cost = Usd::ZERO;
    let mut characters = 0usize;
    loop {
        let mut fresh: Vec<&String> = Vec::new();
        for line in lines.iter().filter(|l| !l.trim().is_empty()) {
            if !spoken.contains_key(line) && !fresh.contains(&line) {
                fresh.push(line);
            }
        }
        let requests: Vec<SpeechRequest> = fresh
            .iter()
            .map(|line| SpeechRequest { text: line, language: b.language, voice: b.brand.voice.name.as_deref(), rate })
            .collect();
        let speeches = ports
            .voice
            .speak_all(&requests)
            .await
            .map_err(|error| ScriptFailure::Provider { doing: "voicing the script", error })?;
        for (line, speech) in fresh.iter().zip(speeches) {
            cost = cost + ports.voice.price(line);
            characters += line.chars().count();
            spoken.insert((*line).clone(), speech);
        }
        let needs: Vec<u32> = lines
            .iter()
            .map(|l| spoken.get(l).map_or(MIN_SHOT_MS, |s| (s.duration_ms + LEAD_MS + TAIL_MS).max(MIN_SHOT_MS)))
            .collect();
        let total: u32 = needs.iter().sum();
        if total <= b.bounds.1 {
            let target = b.length_ms.clamp(b.bounds.0, b.bounds.1).max(total);
            if target > b.length_ms {
                notes.push(format!(
                    "the lines need {:.1} s: the reel is longer than the {:.0} s asked for",
                    f64::from(target) / 1000.0,
                    f64::from(b.length_ms) / 1000.0
                ));
            }
            let durations = share_out(&needs, target);
            let speeches = lines.iter().map(|l| spoken.get(l).cloned()).collect();
            return Ok(Script { lines, speeches, durations, dropped: guarded.dropped, notes, cost, characters });
        }
        // Too long: shorten the line that takes longest.
        let (i, _) = needs
            .iter()
            .enumerate()
            .filter(|(i, _)| !lines[*i].trim().is_empty())
            .max_by_key(|(_, n)| **n)
            .expect("lines over the limit include a spoken one");
        let before = lines[i].clone();
        match shorten(&before) {
            Some(shorter) => {
                notes.push(format!("line {} shortened to fit the reel: {shorter:?}", i + 1));
                lines[i] = shorter;
            }
            None => {
                notes.push(format!("line {} dropped to fit the reel: {before:?}", i + 1));
                lines[i] = String::new();
            }
        }
    }
}

/// Shot durations: each shot's need plus an even share of what is left of `target`.
fn share_out(needs: &[u32], target: u32) -> Vec<u32> {
    let total: u32 = needs.iter().sum();
    let extra = target.saturating_sub(total);
    let n = needs.len().max(1) as u32;
    needs.iter().enumerate().map(|(i, need)| need + extra / n + u32::from((i as u32) < extra % n)).collect()
}

/// The line cut to about 70 %, at a clause or word boundary; `None` when it is too short to cut.
pub fn shorten(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() > DROP_AT_WORDS {
        let keep = ((words.len() as f64) * 0.7).floor().max(1.0) as usize;
        let clause =
            words[..keep].iter().rposition(|w| w.ends_with([',', ';', ':', '—'])).filter(|p| p + 1 >= keep / 2);
        return Some(finish(&words[..clause.map_or(keep, |p| p + 1)].join(" ")));
    }
    if words.len() > 1 {
        return None;
    }
    // One run of text with no spaces (Japanese, Chinese): cut by characters, at a clause mark if one is near.
    let chars: Vec<char> = line.trim().chars().collect();
    if chars.len() <= DROP_AT_WORDS * copy::CHARS_PER_WORD {
        return None;
    }
    let keep = (chars.len() as f64 * 0.7).floor() as usize;
    let cut = chars[..keep].iter().rposition(|c| matches!(c, '、' | '，' | ',' | '。' | '،')).filter(|p| *p > keep / 2);
    let kept: String = chars[..cut.unwrap_or(keep)].iter().collect();
    Some(finish(&kept))
}

/// Ends a cut line with a full stop (the script's own, for CJK and Arabic).
fn finish(text: &str) -> String {
    let t = text
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '—' | '-' | '、' | '，' | '،'));
    if t.ends_with(['.', '!', '?', '。', '！', '？', '…']) {
        return t.to_string();
    }
    let cjk = t.chars().last().is_some_and(|c| ('\u{3040}'..='\u{9fff}').contains(&c));
    format!("{t}{}", if cjk { "。" } else { "." })
}

/// A laid-out voice-over: the WAV, and its line and word timings.
pub type LaidOut = (Vec<u8>, Vec<LineTiming>, Vec<WordTiming>);

/// Lays each line's speech at its shot's start (plus the lead) on one track as long as the reel;
/// returns the WAV and the line and word timings.
pub fn lay_out(plan: &ShotPlan, speeches: &[Option<Speech>]) -> Result<LaidOut, crate::media::MediaError> {
    let mut pcms: Vec<Option<Pcm>> = Vec::with_capacity(speeches.len());
    for s in speeches {
        pcms.push(s.as_ref().map(|s| wav::parse_wav(&s.wav)).transpose()?);
    }
    let rate = pcms.iter().flatten().map(|p| p.sample_rate).max().unwrap_or(22_050);
    let pcms: Vec<Option<Pcm>> =
        pcms.into_iter().map(|p| p.map(|p| if p.sample_rate == rate { p } else { p.resampled(rate) })).collect();
    let starts = plan.starts_ms();
    let mut lines = Vec::new();
    let mut words: Vec<WordTiming> = Vec::new();
    let mut placed = Vec::new();
    for (i, shot) in plan.shots.iter().enumerate() {
        let (Some(speech), Some(pcm)) = (&speeches[i], &pcms[i]) else { continue };
        let at = starts[i] + LEAD_MS;
        placed.push((at, pcm));
        lines.push(LineTiming {
            shot: shot.index,
            text: shot.line.clone(),
            start_ms: at,
            end_ms: at + speech.duration_ms,
        });
        words.extend(speech.words.iter().map(|w| WordTiming {
            word: w.word.clone(),
            start_ms: at + w.start_ms,
            end_ms: at + w.end_ms,
        }));
    }
    let track = wav::lay_out(&placed, plan.duration_ms(), rate);
    Ok((wav::write_wav(&track), lines, words))
}

/// The voice-over loudness-normalised, and its measured loudness.
pub async fn normalise(
    ports: &Ports,
    wav: Vec<u8>,
) -> Result<(Vec<u8>, Option<crate::Loudness>), crate::media::MediaError> {
    let n = ports.media.normalise_loudness(&wav).await?;
    tracing::debug!(
        before = n.before.integrated,
        after = n.after.integrated,
        gain_db = n.gain_db,
        "Voice-over normalised."
    );
    Ok((n.wav, Some(n.after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_speech_and_fill_the_target() {
        let d = share_out(&[1700, 3700, 2500], 15_000);
        assert_eq!(d.iter().sum::<u32>(), 15_000);
        assert!(d[1] > d[0] && d[0] < d[2]);
        assert_eq!(share_out(&[5000, 5000], 9_000), [5000, 5000], "never shorter than the speech");
    }

    #[test]
    fn lines_shorten_at_words_or_characters_and_tiny_ones_are_dropped() {
        assert_eq!(
            shorten("Soft heavyweight cotton fleece, brushed inside, made to last.").unwrap(),
            "Soft heavyweight cotton fleece, brushed inside."
        );
        assert_eq!(shorten("Tap to shop."), None);
        let ja = "柔らかいコットンのパーカー、裏起毛で暖かく、一年中着られます。";
        let cut = shorten(ja).unwrap();
        assert!(cut.chars().count() < ja.chars().count() && cut.ends_with('。'), "{cut}");
        assert_eq!(shorten("短い"), None);
        assert!(shorten("قميص قطني ناعم مريح للاستخدام اليومي").unwrap().ends_with('.'));
    }
}
