//! `truereel calibrate <folder>`: the local judge's thresholds fitted to clips a person labelled
//! good or bad, with the judge's precision and recall on them before and after.
//!
//! The folder holds the clips and `labels.csv`, one clip a row under a header row:
//!
//! ```text
//! clip,label,references,gallery,others
//! hoodie-push-in.mp4,good,photos/hoodie-front.jpg,,
//! hoodie-mirrored.mp4,bad,photos/hoodie-front.jpg;photos/hoodie-back.jpg,photos/hoodie-worn.jpg,
//! ```
//!
//! - `clip`: the clip's file; `label`: `good` (faithful: the judge must accept it) or `bad`
//!   (misrepresenting: it must refuse it); `references`: the photos it claims to show,
//!   `;`-separated (the clip is judged against the one it fails least, as `truereel judge`
//!   judges it). `gallery` (the listing's other photos) and `others` (other products' photos) are
//!   optional columns, as `truereel judge --gallery`/`--other` take them.
//! - Paths are relative to the folder (absolute ones as they are). Fields are not quoted: a path
//!   cannot hold a comma or a semicolon. Blank lines and lines starting with `#` are skipped.
//!
//! Every clip is judged once, with the code `truereel judge` runs (the shot-level checks), under
//! the judge's defaults or `--brand`'s thresholds; the limits are then fitted from what the
//! checks measured ([`truereel::domain::calibration`] says the rule). A *positive* is a bad clip
//! refused. Exit status 0 when it is done; 2 for input it cannot use: no `labels.csv`, a bad row
//! (named by its line), no good or no bad clip, a clip or photo that is missing or cannot be judged
//! (named: a calibration over fewer clips than labelled would mislead, so none is skipped); 1 when
//! `--write` cannot write its file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use truereel::adapters::providers::judge::clip::{Listing, judge_clip_under};
use truereel::domain::calibration::{Confusion, Fit, Labelled, fit};
use truereel::{Thresholds, printable};

/// The labels' file name in the folder.
pub const LABELS: &str = "labels.csv";

/// Arguments of `truereel calibrate`.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// The folder of clips with its labels.csv (`clip,label,references[,gallery][,others]`).
    folder: PathBuf,
    /// Also write the fitted `[thresholds]` table to this file: a brand kit holding only them, for
    /// `truereel judge --brand`, or to copy into a brand.toml.
    #[arg(long, value_name = "thresholds.toml")]
    write: Option<PathBuf>,
    /// Start from this brand kit's thresholds instead of the judge's defaults.
    #[arg(long, value_name = "brand.toml")]
    brand: Option<PathBuf>,
    /// One JSON object (the figures before and after, each limit, the table) instead of text.
    #[arg(long)]
    json: bool,
}

/// One row of labels.csv, its paths resolved.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: usize,
    clip: PathBuf,
    good: bool,
    references: Vec<PathBuf>,
    gallery: Vec<PathBuf>,
    others: Vec<PathBuf>,
}

/// Prints the figures and the fitted thresholds; see the module for the exit status.
pub async fn run(args: &CalibrateArgs, config: &truereel::config::Config) -> ExitCode {
    let bad_input = |e: String| {
        eprintln!("error: {}", printable(&e));
        ExitCode::from(2)
    };
    let labels = args.folder.join(LABELS);
    let rows = match read_labels(&labels) {
        Ok(rows) => rows,
        Err(e) => return bad_input(e),
    };
    let thresholds = match &args.brand {
        Some(kit) => match truereel::config::brand::load(kit) {
            Ok(kit) => kit.thresholds,
            Err(e) => return bad_input(e.to_string()),
        },
        None => Thresholds::default(),
    };
    if !args.json {
        eprintln!("Judging {} clips...", rows.len());
    }
    let clips = match judge_all(config, &rows, &thresholds).await {
        Ok(clips) => clips,
        Err(e) => return bad_input(e),
    };
    let fitted = fit(&clips);
    let good = rows.iter().filter(|r| r.good).count();
    if args.json {
        let limits = serde_json::to_value(&fitted.limits).expect("limits are JSON");
        let json = serde_json::json!({
            "labels": labels.display().to_string(),
            "clips": rows.len(),
            "good": good,
            "bad": rows.len() - good,
            "positive": "a bad clip refused",
            "before": fitted.before.to_json(),
            "after": fitted.after.to_json(),
            "limits": limits,
            "thresholds": fitted.thresholds,
            "toml": fitted.thresholds.to_toml(),
        });
        println!("{json}");
    } else {
        print!("{}", report(&labels, good, rows.len() - good, &fitted, args.brand.is_some()));
    }
    if let Some(out) = &args.write {
        if let Err(e) = std::fs::write(out, fitted.thresholds.to_toml()) {
            eprintln!("error: writing {}: {e}", out.display());
            return ExitCode::from(1);
        }
        if !args.json {
            println!("\nwritten to {} (a brand kit's [thresholds]: `truereel judge --brand` takes it)", out.display());
        }
    }
    ExitCode::SUCCESS
}

/// Reads and checks labels.csv: every row named by its line when wrong, every file there.
fn read_labels(labels: &Path) -> Result<Vec<Row>, String> {
    let folder = labels.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(labels).map_err(|e| format!("{}: cannot read it: {e}", labels.display()))?;
    let at = |line: usize, why: String| format!("{} line {line}: {why}", labels.display());
    let mut lines = (1..).zip(text.lines()).filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (header_line, header) = lines.next().ok_or_else(|| format!("{}: no header row", labels.display()))?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    for c in &columns {
        if !["clip", "label", "references", "gallery", "others"].contains(c) {
            return Err(at(header_line, format!("{c:?} is not a column (clip, label, references, gallery, others)")));
        }
    }
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(clip_at), Some(label_at), Some(references_at)) = (column("clip"), column("label"), column("references"))
    else {
        return Err(at(header_line, "the header must name the columns clip, label and references".into()));
    };
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { folder.join(p) }
    };
    let paths = |field: Option<&str>| -> Vec<PathBuf> {
        field.unwrap_or("").split(';').map(str::trim).filter(|p| !p.is_empty()).map(resolve).collect()
    };
    let mut rows = Vec::new();
    for (line, text) in lines {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() != columns.len() {
            return Err(at(line, format!("{} fields, the header has {}", fields.len(), columns.len())));
        }
        let good = match fields[label_at].to_ascii_lowercase().as_str() {
            "good" => true,
            "bad" => false,
            other => return Err(at(line, format!("label {other:?} is neither good nor bad"))),
        };
        if fields[clip_at].is_empty() {
            return Err(at(line, "no clip".into()));
        }
        let row = Row {
            line,
            clip: resolve(fields[clip_at]),
            good,
            references: paths(Some(fields[references_at])),
            gallery: paths(column("gallery").map(|i| fields[i])),
            others: paths(column("others").map(|i| fields[i])),
        };
        if row.references.is_empty() {
            return Err(at(line, "no reference photo".into()));
        }
        let files = std::iter::once(&row.clip).chain(&row.references).chain(&row.gallery).chain(&row.others);
        if let Some(missing) = files.into_iter().find(|p| !p.is_file()) {
            return Err(at(line, format!("{} is not a file", missing.display())));
        }
        rows.push(row);
    }
    let good = rows.iter().filter(|r| r.good).count();
    if good == 0 || good == rows.len() {
        let missing = if rows.is_empty() {
            "no clip"
        } else if good == 0 {
            "no good clip"
        } else {
            "no bad clip"
        };
        return Err(format!("{}: {missing}: a calibration needs good clips and bad ones", labels.display()));
    }
    Ok(rows)
}

/// Judges every row's clip as `truereel judge` judges it (a few at a time), in the rows' order.
async fn judge_all(
    config: &truereel::config::Config,
    rows: &[Row],
    thresholds: &Thresholds,
) -> Result<Vec<Labelled>, String> {
    let media = Arc::new(config.media.clone());
    let at_once = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut judging = tokio::task::JoinSet::new();
    let mut judged: Vec<Option<Labelled>> = vec![None; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        if judging.len() >= at_once
            && let Some(done) = judging.join_next().await
        {
            let (k, clip) = done.expect("judging a clip panicked")?;
            judged[k] = Some(clip);
        }
        let (media, settings, row, thresholds) =
            (media.clone(), config.settings.clone(), row.clone(), thresholds.clone());
        judging.spawn(async move {
            let listing = Listing { gallery: &row.gallery, others: &row.others };
            let verdict = judge_clip_under(media, &settings, &row.clip, &row.references, listing, false, &thresholds)
                .await
                .map_err(|e| format!("line {}: {}: {e}", row.line, row.clip.display()))?;
            Ok::<_, String>((i, Labelled { good: row.good, checks: verdict.checks }))
        });
    }
    while let Some(done) = judging.join_next().await {
        let (k, clip) = done.expect("judging a clip panicked")?;
        judged[k] = Some(clip);
    }
    Ok(judged.into_iter().map(|c| c.expect("every clip judged")).collect())
}

/// The text report: the figures before, each limit, the figures after, the `[thresholds]` table.
fn report(labels: &Path, good: usize, bad: usize, fitted: &Fit, brand: bool) -> String {
    let mut out = format!(
        "{} clips from {}: {good} good, {bad} bad (a positive is a bad clip refused)\n\n",
        good + bad,
        labels.display()
    );
    let start = if brand { "the brand's thresholds" } else { "the judge's defaults" };
    out.push_str(&format!("before ({start}):\n{}\n", table(&fitted.before)));
    out.push_str("limits fitted (fewest clips misjudged, then fewest bad clips accepted, then the middle of the\n");
    out.push_str("nearest gap between measured values):\n");
    out.push_str(&format!("  {:<12} {:>8} {:>10} {:>8}  {}\n", "check", "before", "after", "clips", "passes when"));
    for l in &fitted.limits {
        let side = if l.at_least { "at least" } else { "at most" };
        let what = truereel::tunable(l.check).map_or("its value", |t| t.measures);
        out.push_str(&format!(
            "  {:<12} {:>8} {:>10} {:>8}  {what} is {side} the limit\n",
            l.check, l.before, l.after, l.clips
        ));
    }
    out.push_str(&format!("\nafter:\n{}\n", table(&fitted.after)));
    out.push_str(&fitted.thresholds.to_toml());
    out
}

/// The confusion table and its figures.
fn table(c: &Confusion) -> String {
    let figure = |f: Option<f64>| f.map_or_else(|| "n/a".to_string(), |f| format!("{f:.3}"));
    format!(
        "  {:<12} {:>8} {:>9}\n  {:<12} {:>8} {:>9}\n  {:<12} {:>8} {:>9}\n  precision {}, recall {}, good clips accepted {}; {} misjudged\n",
        "",
        "refused",
        "accepted",
        "bad clips",
        c.bad_refused,
        c.bad_accepted,
        "good clips",
        c.good_refused,
        c.good_accepted,
        figure(c.precision()),
        figure(c.recall()),
        figure(c.good_accepted_rate()),
        c.misjudged(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> (tempfile::TempDir, Result<Vec<Row>, String>) {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.mp4", "b.mp4", "p.jpg", "q.jpg"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        std::fs::write(dir.path().join(LABELS), text).unwrap();
        let read = read_labels(&dir.path().join(LABELS));
        (dir, read)
    }

    #[test]
    fn labels_are_read_with_their_paths_resolved_against_the_folder() {
        let (dir, rows) =
            labels("# made by hand\nclip,label,references,gallery\na.mp4,good,p.jpg;q.jpg,\n\nb.mp4,BAD,p.jpg,q.jpg\n");
        let rows = rows.unwrap();
        let d = dir.path();
        assert_eq!(
            rows,
            [
                Row {
                    line: 3,
                    clip: d.join("a.mp4"),
                    good: true,
                    references: vec![d.join("p.jpg"), d.join("q.jpg")],
                    gallery: vec![],
                    others: vec![],
                },
                Row {
                    line: 5,
                    clip: d.join("b.mp4"),
                    good: false,
                    references: vec![d.join("p.jpg")],
                    gallery: vec![d.join("q.jpg")],
                    others: vec![],
                },
            ]
        );
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        let error = |text: &str| labels(text).1.unwrap_err();
        assert!(
            error("clip,label,references\na.mp4,fine,p.jpg\n")
                .contains("line 2: label \"fine\" is neither good nor bad")
        );
        assert!(error("clip,label,references\na.mp4,good\n").contains("line 2: 2 fields, the header has 3"));
        assert!(error("clip,label,references\na.mp4,good,\n").contains("line 2: no reference photo"));
        let e = error("clip,label,references\na.mp4,good,p.jpg\nc.mp4,bad,p.jpg\n");
        assert!(e.contains("line 3: ") && e.contains("c.mp4 is not a file"), "{e}");
        assert!(error("clip,label,photo\n").contains("line 1: \"photo\" is not a column"));
        assert!(error("clip,label\n").contains("must name the columns clip, label and references"));
        assert!(error("clip,label,references\na.mp4,good,p.jpg\n").contains("no bad clip: a calibration needs"));
        assert!(error("").contains("no header row"));
        let missing = read_labels(Path::new("/nonexistent/labels.csv")).unwrap_err();
        assert!(missing.contains("/nonexistent/labels.csv: cannot read it"), "{missing}");
    }
}
