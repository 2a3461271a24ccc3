//! `truereel classify`: the kind of each photo (model-worn, flat or detail) and how sure, one line per photo.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use truereel::adapters::providers::classifier::pixel::PixelClassifier;
use truereel::ports::{Classification, Classifier, PhotoHints};
use truereel::printable;
use truereel::stages::crawl::intake::{self, PhotoLimits};

/// Arguments of `truereel classify`.
#[derive(clap::Args)]
pub struct ClassifyArgs {
    /// Photos to classify (JPEG, PNG or WebP, recognised by their bytes, not their extension).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// One JSON object per line: {"path":…,"kind":…,"confidence":…}.
    #[arg(long)]
    json: bool,
    /// Judge from the pixels alone, without the file name as a hint.
    #[arg(long)]
    pixels_only: bool,
}

/// Classifies every photo, printing a line for each; exit status 1 if any could not be read.
pub async fn run(args: &ClassifyArgs) -> ExitCode {
    let mut failed = 0usize;
    for path in &args.images {
        match classify(path, args.pixels_only).await {
            Ok(c) => println!("{}", line(path, c, args.json)),
            Err(reason) => {
                failed += 1;
                eprintln!("error: {}: {}", printable(&path.display().to_string()), printable(&reason));
            }
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} photos could not be classified", args.images.len());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Reads, checks and decodes one photo (the pipeline's intake limits), then classifies it.
async fn classify(path: &Path, pixels_only: bool) -> Result<Classification, String> {
    let limits = PhotoLimits::default();
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > limits.max_bytes {
        return Err(format!("the file is {size} bytes, over the {} byte limit", limits.max_bytes));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let photo = intake::inspect(&bytes, &limits).map_err(|e| e.to_string())?;
    let hints = PhotoHints {
        file_name: (!pixels_only).then(|| path.file_name().map(|n| n.to_string_lossy().into_owned())).flatten(),
        ..PhotoHints::default()
    };
    Ok(PixelClassifier.classify(&photo.image, &hints).await)
}

/// `path<TAB>kind<TAB>confidence` (the path's control characters escaped, so a tab or newline in a
/// file name cannot break the line), or the same as one JSON object.
fn line(path: &Path, c: Classification, json: bool) -> String {
    let confidence = (f64::from(c.confidence) * 100.0).round() / 100.0;
    if json {
        serde_json::json!({ "path": path.display().to_string(), "kind": c.kind.as_str(), "confidence": confidence })
            .to_string()
    } else {
        format!("{}\t{}\t{confidence:.2}", printable(&path.display().to_string()), c.kind)
    }
}
