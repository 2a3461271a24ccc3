//! Measurement: the pixel classifier's accuracy on the labelled fixture photos beside the repo, from
//! pixels alone and with the catalogue's hints, plus a leave-one-out refit of its weights and the
//! time per photo. `TRUEREEL_FIXTURES=<folder> cargo bench -p truereel-tests --bench classify [-- --fit]`:
//! the labelled photos are research data that live outside the repo (never copied into it); their
//! folder is named by `TRUEREEL_FIXTURES` (for the project, `../shared/fixtures`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use truereel::PhotoKind;
use truereel::adapters::providers::classifier::pixel::PixelClassifier;
use truereel::adapters::providers::classifier::pixel::features::{Features, features};
use truereel::adapters::providers::classifier::pixel::model::{KINDS, WEIGHTS, Weights, probabilities, scores};
use truereel::adapters::providers::classifier::pixel::training::{fit, training_views};
use truereel::ports::{Classifier, PhotoHints};

/// One labelled photo.
struct Photo {
    file: String,
    kind: PhotoKind,
    image: image::DynamicImage,
}

fn main() {
    let fit_only = std::env::args().any(|a| a == "--fit");
    let show_features = std::env::args().any(|a| a == "--features");
    let Some(dir) = std::env::var_os("TRUEREEL_FIXTURES").map(PathBuf::from) else {
        eprintln!("classify benchmark: set TRUEREEL_FIXTURES to the folder of the labelled photos (photos/labels.csv)");
        std::process::exit(2);
    };
    let (photos, decode_ms) = load(&dir.join("photos/labels.csv"), &dir.join("photos"));
    let feats: Vec<Features> = photos.iter().map(|p| features(&p.image)).collect();
    // What `fit` learns from: each photo's training views (the photo and label-keeping crops).
    let views: Vec<Vec<Features>> =
        photos.iter().map(|p| training_views(&p.image, p.kind).iter().map(features).collect()).collect();
    if show_features {
        print_features("fixtures", &photos, &feats);
        let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
        let (demo, _) = load(&store.join("labels.csv"), &store);
        let demo_feats: Vec<Features> = demo.iter().map(|p| features(&p.image)).collect();
        print_features("demo store (held out)", &demo, &demo_feats);
        return;
    }
    if fit_only {
        print_fit(&photos, &views);
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    println!("classify benchmark: {} photos from {}", photos.len(), dir.display());

    let started = Instant::now();
    let pixels: Vec<PhotoKind> =
        photos.iter().map(|p| rt.block_on(PixelClassifier.classify(&p.image, &PhotoHints::default())).kind).collect();
    let ms = started.elapsed().as_secs_f64() * 1000.0 / photos.len() as f64;
    report("pixels alone (no hints; the shipped weights were fitted on these photos)", &photos, &pixels);

    let loo: Vec<PhotoKind> = (0..photos.len()).map(|i| leave_one_out(&photos, &views, &feats[i], i)).collect();
    report("pixels alone, leave-one-out (weights refitted without the photo judged or its crops)", &photos, &loo);

    let catalog = catalog_hints(&dir);
    let hinted: Vec<PhotoKind> = photos
        .iter()
        .map(|p| {
            let (alt, position) = catalog.get(&p.file).cloned().unwrap_or_default();
            let hints = PhotoHints { alt, file_name: Some(p.file.clone()), position };
            rt.block_on(PixelClassifier.classify(&p.image, &hints)).kind
        })
        .collect();
    report("with hints (alt text and position from products.json, and the file name)", &photos, &hinted);

    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
    let (demo, _) = load(&store.join("labels.csv"), &store);
    let demo_pixels: Vec<PhotoKind> =
        demo.iter().map(|p| rt.block_on(PixelClassifier.classify(&p.image, &PhotoHints::default())).kind).collect();
    report("held out: the repo's demo store (examples/store), pixels alone", &demo, &demo_pixels);

    println!("\ntime per photo: {ms:.1} ms to classify (downscale, features, scores), {decode_ms:.1} ms to decode");
}

/// The photos a `file,kind,…` CSV lists (files relative to `root`), decoded, and the mean decode time in ms.
fn load(csv: &Path, root: &Path) -> (Vec<Photo>, f64) {
    let text =
        std::fs::read_to_string(csv).unwrap_or_else(|e| panic!("{}: {e} (set TRUEREEL_FIXTURES)", csv.display()));
    let started = Instant::now();
    let photos: Vec<Photo> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut cols = line.split(',');
            let file = cols.next().unwrap().to_string();
            let kind = cols.next().unwrap();
            let kind = KINDS.into_iter().find(|k| k.as_str() == kind).unwrap_or_else(|| panic!("kind {kind}"));
            let image = image::open(root.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            Photo { file, kind, image }
        })
        .collect();
    let ms = started.elapsed().as_secs_f64() * 1000.0 / photos.len().max(1) as f64;
    (photos, ms)
}

/// Alt text and gallery position per photo file name, from the catalogue.
fn catalog_hints(dir: &Path) -> HashMap<String, (Option<String>, Option<u32>)> {
    let text = std::fs::read_to_string(dir.join("products.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = HashMap::new();
    for image in json["products"].as_array().unwrap().iter().flat_map(|p| p["images"].as_array().unwrap()) {
        let Some(file) = image["src"].as_str().and_then(|s| s.rsplit('/').next()) else { continue };
        let alt = image["alt"].as_str().map(str::to_string);
        let position = image["position"].as_u64().and_then(|p| u32::try_from(p).ok());
        out.insert(file.to_string(), (alt, position));
    }
    out
}

fn best(w: &Weights, f: &Features) -> PhotoKind {
    let p = probabilities(scores(w, f));
    let i = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(0);
    KINDS[i]
}

/// Every training view's features with its photo's label, leaving out photo `skip` (and its crops).
fn samples(photos: &[Photo], views: &[Vec<Features>], skip: Option<usize>) -> Vec<(Features, PhotoKind)> {
    photos
        .iter()
        .zip(views)
        .enumerate()
        .filter(|(j, _)| Some(*j) != skip)
        .flat_map(|(_, (p, v))| v.iter().map(|f| (*f, p.kind)))
        .collect()
}

/// The kind photo `i` (features `f`) gets from weights fitted on all the other photos' views.
fn leave_one_out(photos: &[Photo], views: &[Vec<Features>], f: &Features, i: usize) -> PhotoKind {
    best(&fit(&samples(photos, views, Some(i))), f)
}

/// Accuracy, a confusion matrix (rows: label, columns: answer) and the photos got wrong.
fn report(title: &str, photos: &[Photo], answers: &[PhotoKind]) {
    let right = photos.iter().zip(answers).filter(|(p, a)| p.kind == **a).count();
    println!("\n{title}");
    println!("  accuracy {right}/{} = {:.1} %", photos.len(), 100.0 * right as f64 / photos.len() as f64);
    println!("  {:<12}{:>12}{:>12}{:>12}", "label \\ got", KINDS[0].as_str(), KINDS[1].as_str(), KINDS[2].as_str());
    for want in KINDS {
        let row = KINDS.map(|got| photos.iter().zip(answers).filter(|(p, a)| p.kind == want && **a == got).count());
        println!("  {:<12}{:>12}{:>12}{:>12}", want.as_str(), row[0], row[1], row[2]);
    }
    for (p, a) in photos.iter().zip(answers).filter(|(p, a)| p.kind != **a) {
        println!("  wrong: {} is {}, got {a}", p.file, p.kind);
    }
}

/// Prints weights fitted on every photo's views, as the `WEIGHTS` constant, and how far the shipped ones are.
fn print_fit(photos: &[Photo], views: &[Vec<Features>]) {
    let samples = samples(photos, views, None);
    println!("fitted on {} views of {} photos", samples.len(), photos.len());
    let w = fit(&samples);
    println!("pub const WEIGHTS: Weights = [");
    for row in w {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:.2}")).collect();
        println!("    [{}],", cells.join(", "));
    }
    println!("];");
    let drift = w.iter().flatten().zip(WEIGHTS.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("largest difference from the shipped WEIGHTS: {drift:.3}");
}

/// One line per photo: label and the score's inputs (after the constant), for looking at the features.
fn print_features(title: &str, photos: &[Photo], feats: &[Features]) {
    println!("{title}");
    for (p, f) in photos.iter().zip(feats) {
        let cells: Vec<String> = f.inputs()[1..].iter().map(|v| format!("{v:5.2}")).collect();
        println!("  {:<11}{} {}", p.kind.as_str(), cells.join(" "), p.file);
    }
}
