//! `truereel judge`: the local judge on any clip against any photos (under a brand's thresholds if
//! given), the verdict as one JSON object.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use truereel::adapters::providers::judge::clip::{ClipVerdict, Listing, judge_clip_under};
use truereel::config::Config;
use truereel::media::Media;
use truereel::{Check, Thresholds, printable};

/// Arguments of `truereel judge`.
#[derive(clap::Args)]
pub struct JudgeArgs {
    /// A photo the clip must show (repeat for several; the clip is judged against the one it
    /// matches best).
    #[arg(long = "reference", required = true)]
    references: Vec<PathBuf>,
    /// Another photo of the same listing (repeat for several): the product-match check accepts a
    /// frame that fits any photo of the listing, the references included.
    #[arg(long = "gallery")]
    gallery: Vec<PathBuf>,
    /// A photo of another product of the store (repeat for several; named by its file stem): the
    /// clip fails when a frame looks clearly more like one of them than like its own listing.
    #[arg(long = "other")]
    others: Vec<PathBuf>,
    /// Judge it as a finished reel: its size, length, codecs and loudness too.
    #[arg(long)]
    reel: bool,
    /// Judge under this brand kit's `[thresholds]` instead of the judge's defaults (a brand.toml, or
    /// the file `truereel calibrate --write` wrote).
    #[arg(long, value_name = "brand.toml")]
    brand: Option<PathBuf>,
    /// Also draw a contact sheet: the photo the clip matched beside frames of it, with the scores
    /// and the reasons (PNG).
    #[arg(long, value_name = "OUT.png")]
    sheet: Option<PathBuf>,
    /// The clip (any size, aspect and length; audio optional unless --reel).
    clip: PathBuf,
}

/// Prints the verdict; exit status 0 pass, 1 fail, 2 input that cannot be judged.
pub async fn run(args: &JudgeArgs, config: &Config) -> ExitCode {
    let media = Arc::new(config.media.clone());
    let listing = Listing { gallery: &args.gallery, others: &args.others };
    let thresholds = match &args.brand {
        Some(kit) => match truereel::config::brand::load(kit) {
            Ok(kit) => kit.thresholds,
            Err(e) => {
                eprintln!("error: {}", printable(&e.to_string()));
                return ExitCode::from(2);
            }
        },
        None => Thresholds::default(),
    };
    let (clip, photos) = (&args.clip, &args.references);
    match judge_clip_under(media.clone(), &config.settings, clip, photos, listing, args.reel, &thresholds).await {
        Ok(v) => {
            println!("{}", v.to_json());
            if let Some(out) = &args.sheet
                && let Err(e) = sheet(&media, &args.clip, &v, out).await
            {
                eprintln!("error: drawing the contact sheet {}: {}", out.display(), printable(&e.to_string()));
                return ExitCode::from(2);
            }
            if v.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => {
            eprintln!("error: {}", printable(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// Draws the contact sheet of a judged clip to `out`: one row, the photo it matched beside frames
/// spread through it (the ends left out as the judge does).
async fn sheet(media: &Media, clip: &Path, verdict: &ClipVerdict, out: &Path) -> anyhow::Result<()> {
    use truereel::media::contact_sheet::tile_size;
    use truereel::media::{CUT_EDGE_MS, ContactSheet, SheetShot, THUMBNAIL_FPS};
    let probe = media.probe(clip).await?;
    let (w, h) = probe.video.as_ref().map_or((1, 1), |v| (v.width, v.height));
    let tile = tile_size(w, h);
    let frames = media.sampled_frames(clip, THUMBNAIL_FPS, tile).await?;
    let last = frames.len() as u32 * (1000 / THUMBNAIL_FPS);
    let frames: Vec<_> = (0..)
        .zip(frames)
        .map(|(k, f)| (k * (1000 / THUMBNAIL_FPS), f))
        .filter(|(t, _)| *t >= CUT_EDGE_MS && t + CUT_EDGE_MS < last)
        .collect();
    let (own, rest): (Vec<&Check>, Vec<&Check>) = verdict.checks.iter().partition(|c| c.shot.is_some());
    let shot = SheetShot::judged(0, 0, probe.duration_ms, Some(verdict.reference.clone()), frames, &own);
    let failed = verdict.checks.iter().filter(|c| !c.passed).count();
    let sheet = ContactSheet {
        title: clip.file_name().map_or_else(|| clip.display().to_string(), |n| n.to_string_lossy().into_owned()),
        passed: Some(verdict.passed),
        judges: vec![format!("local judge: {failed} of {} checks failed", verdict.checks.len())],
        reasons: rest.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect(),
        tile,
        shots: vec![shot],
    };
    let dir = media.scratch.dir("truereel-sheet-")?;
    let png = media.contact_sheet(sheet, dir.path()).await?;
    std::fs::write(out, png).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    Ok(())
}
