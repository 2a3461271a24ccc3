//! The layers' imports run one way (a source-level check): the domain imports nothing of the crate but
//! the domain; ports import the domain only; configuration imports no adapter, stage, home or runner;
//! stages and adapters never import each other, the runner, the homes or the entry points; the cost model
//! imports none of those either.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate's top-level modules, from `lib.rs`.
fn top_modules(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|m| m.trim_end_matches(';').trim().to_string())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment of every `crate::…` path in code (comments and doc comments skipped),
/// groups included: `use crate::{a::X, b}` gives `a` and `b`.
fn crate_roots(source: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `truereel_crate::`
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            roots.insert(first_segment(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                roots.insert(first_segment(&item));
            } else {
                roots.insert(first_segment(rest));
            }
        }
    }
    roots.remove("");
    roots
}

fn first_segment(path: &str) -> String {
    path.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Every file under `layer` that reaches a forbidden top-level module, as `file → module`.
fn violations(src: &Path, layer: &str, forbidden: &BTreeSet<String>) -> Vec<String> {
    let mut files = Vec::new();
    let dir = src.join(layer);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    } else {
        files.push(src.join(format!("{layer}.rs")));
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for root in crate_roots(&text) {
            if forbidden.contains(&root) {
                found.push(format!("{} imports crate::{root}", file.strip_prefix(src).unwrap().display()));
            }
        }
    }
    found
}

fn all_but(modules: &BTreeSet<String>, allowed: &[&str]) -> BTreeSet<String> {
    modules.iter().filter(|m| !allowed.contains(&m.as_str())).cloned().collect()
}

fn only(modules: &BTreeSet<String>, these: &[&str]) -> BTreeSet<String> {
    let set: BTreeSet<String> = these.iter().map(|s| s.to_string()).collect();
    for m in &set {
        assert!(modules.contains(m), "{m} is no longer a top-level module: update this test");
    }
    set
}

#[test]
fn imports_run_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_modules(&src);
    // `costs` is the AWS cost model (prices and billing rules, a leaf the meter counts by); `report` reads
    // state for the CLI. Both sit above the stages and below the entry points.
    let composition = ["runner", "homes", "lambda", "report"];
    let rules: Vec<(&str, BTreeSet<String>)> = vec![
        ("domain", all_but(&modules, &["domain"])),
        ("ports", all_but(&modules, &["domain", "ports"])),
        ("config", only(&modules, &["adapters", "stages", "homes", "runner", "lambda", "report", "costs"])),
        ("stages", only(&modules, &["adapters", "homes", "runner", "lambda", "report", "costs"])),
        ("adapters", {
            let mut f = only(&modules, &composition);
            f.insert("stages".into());
            f
        }),
        ("media", only(&modules, &["adapters", "stages", "homes", "runner", "lambda", "report", "costs"])),
        ("messages", only(&modules, &["adapters", "stages", "homes", "runner", "lambda", "report", "costs"])),
        ("costs", only(&modules, &["adapters", "stages", "homes", "runner", "lambda", "report"])),
        (
            "learning",
            only(&modules, &["adapters", "stages", "homes", "runner", "lambda", "report", "costs", "media", "ports"]),
        ),
    ];
    let mut found = Vec::new();
    for (layer, forbidden) in &rules {
        found.extend(violations(&src, layer, forbidden));
    }
    assert!(found.is_empty(), "imports that run back up the layers:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_what_it_must() {
    let roots = crate_roots(
        "use crate::{Usd, adapters::http::X, ports::{A, B}};\nuse crate::runner::drain; // crate::homes\n\
         let x = crate::homes::aws::open();\n/// [`y`](crate::lambda)\n",
    );
    let want: BTreeSet<String> = ["Usd", "adapters", "ports", "runner", "homes"].map(String::from).into();
    assert_eq!(roots, want);
}
