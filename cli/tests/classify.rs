//! `truereel classify` as a user runs it: one line per photo, JSON lines, and a broken file among good ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos").join(name)
}

fn classify(args: &[&Path], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_truereel")).arg("classify").args(extra).args(args).output().unwrap()
}

#[test]
fn prints_path_kind_and_confidence_per_photo() {
    let (flat, detail) = (photo("hoodie-red-front-flat.jpg"), photo("jeans-light-detail.jpg"));
    let out = classify(&[&flat, &detail], &["--pixels-only"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (cols, (path, kind)) in lines.iter().zip([(&flat, "flat"), (&detail, "detail")]) {
        assert_eq!(cols.len(), 3, "{text}");
        assert_eq!(cols[0], path.display().to_string());
        assert_eq!(cols[1], kind, "{text}");
        let (units, decimals) = cols[2].split_once('.').unwrap();
        assert!(units.len() == 1 && decimals.len() == 2, "two decimals: {text}");
        assert!((0.0..=1.0).contains(&cols[2].parse::<f32>().unwrap()), "{text}");
    }
}

#[test]
fn json_prints_one_object_per_line() {
    let worn = photo("beanie-green-worn.jpg");
    let out = classify(&[&worn], &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["path"], worn.display().to_string());
    // The file name says "worn": the hint wins over pixels that see no face.
    assert_eq!(v["kind"], "model_worn");
    assert!((0.0..=1.0).contains(&v["confidence"].as_f64().unwrap()), "{v}");
}

#[test]
fn an_unreadable_photo_is_named_on_stderr_the_others_still_print_and_the_exit_status_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("not-a-photo.jpg");
    std::fs::write(&fake, "<html>not an image</html>").unwrap();
    let missing = dir.path().join("missing.png");
    let good = photo("tee-grey-front-flat.jpg");
    let out = classify(&[&fake, &good, &missing], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with(&format!("{}\tflat\t", good.display())), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&format!("{}: not a JPEG, PNG or WebP image", fake.display())), "{stderr}");
    assert!(stderr.contains(&format!("{}: No such file", missing.display())), "{stderr}");
}

#[test]
fn a_photo_is_recognised_by_its_bytes_not_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("photo.png");
    std::fs::copy(photo("slipon-blue-side.jpg"), &renamed).unwrap();
    let out = classify(&[&renamed], &["--pixels-only"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("\tflat\t"));
}
