//! `truereel calibrate` as a user runs it: on the folder the judge's corpus builder writes from the
//! sample store (clips and labels.csv), it prints the figures before and after and the fitted
//! thresholds, which a brand kit then takes.

use std::path::Path;
use std::process::{Command, Output};
use truereel_tests::corpus::{self, Kind};

fn calibrate(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_truereel")).arg("calibrate").args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

/// A figure of the JSON report (`before`/`after`, `precision`/`recall`...).
fn figure(v: &serde_json::Value, when: &str, what: &str) -> f64 {
    v[when][what].as_f64().unwrap_or_else(|| panic!("{when}.{what} is not a number: {v:#}"))
}

/// The corpus of the sample store (every kind, every product), calibrated: the figures after are at
/// least those before on it, limits move, and the written table is a brand kit the loader accepts.
#[test]
fn calibrate_fits_the_thresholds_on_the_judges_corpus_and_a_brand_kit_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("corpus");
    let clips = corpus::build(&truereel_tests::sample_store(), &folder, (216, 384), 2, 1);
    let written = dir.path().join("thresholds.toml");
    let out = calibrate(&["--json".as_ref(), "--write".as_ref(), written.as_os_str(), folder.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let bad = clips.iter().filter(|c| !c.kind.faithful()).count();
    assert_eq!((v["clips"].as_u64(), v["bad"].as_u64()), (Some(clips.len() as u64), Some(bad as u64)), "{v:#}");
    assert_eq!(v["positive"], "a bad clip refused");
    let counts =
        |when: &str| ["bad_refused", "bad_accepted", "good_refused", "good_accepted"].map(|k| figure(&v, when, k));
    let (before, after) = (counts("before"), counts("after"));
    println!(
        "calibrate on {} clips: before precision {:.3} recall {:.3} good accepted {:.3} {before:?}; after precision {:.3} \
         recall {:.3} good accepted {:.3} {after:?}",
        clips.len(),
        figure(&v, "before", "precision"),
        figure(&v, "before", "recall"),
        figure(&v, "before", "good_accepted_rate"),
        figure(&v, "after", "precision"),
        figure(&v, "after", "recall"),
        figure(&v, "after", "good_accepted_rate"),
    );
    assert_eq!(before.iter().sum::<f64>(), clips.len() as f64, "every clip counted once: {v:#}");
    assert_eq!(after.iter().sum::<f64>(), clips.len() as f64, "every clip counted once: {v:#}");
    // Fewer clips misjudged, then fewer bad ones accepted: never worse on the fitted set.
    let misjudged = |c: [f64; 4]| (c[1] + c[2], c[1]);
    assert!(misjudged(after) <= misjudged(before), "{v:#}");
    assert!(
        misjudged(after) < misjudged(before) || after == before,
        "the fit changes verdicts only to misjudge fewer: {v:#}"
    );
    for (when, [bad_refused, bad_accepted, good_refused, good_accepted]) in [("before", before), ("after", after)] {
        assert_eq!(figure(&v, when, "misjudged"), bad_accepted + good_refused);
        // (JSON reads a float back to within its last digit.)
        let near = |what: &str, want: f64| (figure(&v, when, what) - want).abs() < 1e-12;
        assert!(near("precision", bad_refused / (bad_refused + good_refused)), "{when}: {v:#}");
        assert!(near("recall", bad_refused / (bad_refused + bad_accepted)), "{when}: {v:#}");
        assert!(near("good_accepted_rate", good_accepted / (good_accepted + good_refused)), "{when}: {v:#}");
    }
    let limits = v["limits"].as_array().unwrap();
    let moved: Vec<&serde_json::Value> = limits.iter().filter(|l| l["before"] != l["after"]).collect();
    assert!(!moved.is_empty(), "no limit moved: {v:#}");
    let structure = limits.iter().find(|l| l["check"] == "structure").unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(structure["before"].as_f64(), Some(0.85), "the judge's default");
    assert_eq!(structure["clips"].as_u64(), Some(clips.len() as u64), "every clip measures it");

    // The written table in a brand kit: the loader takes it, limits as printed.
    let table = std::fs::read_to_string(&written).unwrap();
    assert_eq!(v["toml"].as_str(), Some(table.as_str()));
    let kit = dir.path().join("brand.toml");
    std::fs::write(&kit, format!("name = \"Acme\"\n\n{table}")).unwrap();
    let loaded = truereel::config::brand::load(&kit).unwrap_or_else(|e| panic!("{e}\n{table}"));
    let thresholds: serde_json::Value = serde_json::to_value(&loaded.thresholds).unwrap();
    assert_eq!(thresholds, v["thresholds"], "{table}");
    assert_eq!(loaded.thresholds.iter().count(), limits.len());
}

/// Two clips, as text: the tables before and after and the table for a brand kit; bad input is
/// exit status 2 naming what is wrong.
#[test]
fn calibrate_prints_its_tables_and_refuses_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let photo = truereel_tests::sample_store().join("photos/tee-grey-front-flat.jpg");
    let other = truereel_tests::sample_store().join("photos/slipon-blue-side.jpg");
    let mut clips = Vec::new();
    for kind in [Kind::PushIn, Kind::Mirrored] {
        let path = dir.path().join(format!("{kind:?}.mp4"));
        corpus::render(kind, &photo, &other, &path, (216, 384), 2);
        clips.push(corpus::CorpusClip { kind, product: "tee".into(), path, reference: photo.clone() });
    }
    corpus::write_labels(dir.path(), &clips);
    let labels = std::fs::read_to_string(dir.path().join("labels.csv")).unwrap();
    assert_eq!(
        labels,
        "clip,label,references\nPushIn.mp4,good,photos/tee-grey-front-flat.jpg\nMirrored.mp4,bad,photos/tee-grey-front-flat.jpg\n"
    );

    let out = calibrate(&[dir.path().as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.starts_with("2 clips from ") && text.contains("1 good, 1 bad (a positive is a bad clip refused)"),
        "{text}"
    );
    assert!(text.contains("before (the judge's defaults):\n"), "{text}");
    assert!(text.contains("precision 1.000, recall 1.000, good clips accepted 1.000; 0 misjudged"), "{text}");
    assert!(text.contains("\nafter:\n") && text.contains("\n[thresholds]\n"), "{text}");
    assert!(text.contains("\nstructure = 0.85\n"), "nothing measured came near the default: {text}");

    let error = |folder: &Path| {
        let out = calibrate(&[folder.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let empty = tempfile::tempdir().unwrap();
    assert!(error(empty.path()).contains("labels.csv: cannot read it"));
    std::fs::write(dir.path().join("labels.csv"), labels.replace(",bad,", ",awful,")).unwrap();
    assert!(error(dir.path()).contains("labels.csv line 3: label \"awful\" is neither good nor bad"));
    // A clip that cannot be judged is named, not skipped.
    std::fs::write(dir.path().join("Mirrored.mp4"), "not a video").unwrap();
    std::fs::write(dir.path().join("labels.csv"), labels).unwrap();
    let e = error(dir.path());
    assert!(e.contains("line 3: ") && e.contains("Mirrored.mp4"), "{e}");
}
