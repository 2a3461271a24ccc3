//! The template writer: lines from the copy alone, fitted, in the copy's language, varied on
//! rejection, and never failing whatever the copy.

use super::*;
use crate::adapters::storefront::catalog::parse_catalog;
use crate::ports::ShotBrief;
use crate::{Handle, PhotoKind, ProductOption, Sha256};

fn product(title: &str, description: &str) -> Product {
    Product {
        handle: Handle::parse("p").unwrap(),
        title: title.into(),
        description: description.into(),
        vendor: Some("Demo Store".into()),
        product_type: Some("Hoodie".into()),
        price: Some("59.00".into()),
        currency: None,
        options: Vec::new(),
        variants: Vec::new(),
        references: vec![],
        gallery_hash: Sha256::of(b"x"),
        store: "s".into(),
        updated_ms: 0,
    }
}

const HOODIE: &str = "Pullover hooded sweatshirt with a front kangaroo pocket and ribbed cuffs and hem. A white \
                      circular logo is printed on the left chest. Available in red (with white drawstrings) and black.";

fn hoodie() -> Product {
    let mut p = product("Pullover Hoodie", HOODIE);
    p.options = vec![ProductOption { name: "Color".into(), values: vec!["Red".into(), "Black".into()] }];
    p
}

fn brief(role: ShotRole, max_words: usize) -> ShotBrief {
    ShotBrief { role, kind: PhotoKind::Flat, alt: None, max_words }
}

fn five(max_words: usize) -> Vec<ShotBrief> {
    [ShotRole::Opening, ShotRole::Texture, ShotRole::Reveal, ShotRole::View, ShotRole::CallToAction]
        .into_iter()
        .map(|r| brief(r, max_words))
        .collect()
}

fn write(
    product: &Product,
    shots: &[ShotBrief],
    brand: &BrandKit,
    colour: Option<&str>,
    rejections: &[String],
) -> Vec<String> {
    write_lines(&WriteRequest { product, shots, brand, language: "en", colour, rejections })
}

/// Every line within its limit, ending in punctuation, and untouched by the honesty guard.
fn assert_honest(product: &Product, shots: &[ShotBrief], lines: &[String], brand: &BrandKit, colour: Option<&str>) {
    assert_eq!(lines.len(), shots.len(), "{lines:?}");
    for (line, shot) in lines.iter().zip(shots) {
        assert!(word_count(line) <= shot.max_words, "{line:?} is over {} words", shot.max_words);
        assert!(!line.is_empty(), "{lines:?}");
        let last = line.chars().last().unwrap();
        assert!(".!?。".contains(last), "{line:?} ends without punctuation");
    }
    let guarded = copy::guard(lines, product, brand, colour);
    assert!(guarded.dropped.is_empty(), "the guard changed {lines:?}: {:?}", guarded.dropped);
}

#[test]
fn lines_come_from_the_copy_by_role() {
    let p = hoodie();
    let shots = five(14);
    let brand = BrandKit::default();
    let lines = write(&p, &shots, &brand, Some("Red"), &[]);
    assert_eq!(lines[0], "Meet the Pullover Hoodie by Demo Store in red.");
    assert!(lines[1].contains("kangaroo pocket"), "texture reads a detail: {lines:?}");
    assert_eq!(lines[4], "Tap to shop.");
    assert!(lines.iter().all(|l| !l.to_lowercase().contains("black")), "a red reel never says black: {lines:?}");
    assert_honest(&p, &shots, &lines, &brand, Some("Red"));
}

#[test]
fn the_brand_names_and_closes() {
    let brand = BrandKit {
        name: Some("Acme".into()),
        call_to_action: Some("Shop the drop at acme.example.".into()),
        ..BrandKit::default()
    };
    let lines = write(&hoodie(), &five(14), &brand, None, &[]);
    assert_eq!(lines[0], "Meet the Pullover Hoodie by Acme.");
    assert_eq!(lines[4], "Shop the drop at acme.example.");
}

#[test]
fn facts_fill_in_when_the_description_runs_out() {
    let mut p = product("Linen Shirt", "");
    p.product_type = Some("Shirt".into());
    p.currency = Some("USD".into());
    p.options =
        vec![ProductOption { name: "Size".into(), values: vec!["XS".into(), "S".into(), "M".into(), "L".into()] }];
    let shots = five(14);
    let brand = BrandKit::default();
    let lines = write(&p, &shots, &brand, None, &[]);
    assert_eq!(lines[1], "Linen, up close.");
    assert_eq!(lines[2], "The Linen Shirt.");
    assert_eq!(lines[3], "Sizes XS to L.");
    assert_honest(&p, &shots, &lines, &brand, None);
    let view_only = [brief(ShotRole::Opening, 14), brief(ShotRole::View, 14), brief(ShotRole::View, 14)];
    let lines = write(&p, &view_only, &brand, None, &[]);
    assert_eq!(lines[1..], ["Sizes XS to L.", "Yours for $59."]);
}

#[test]
fn an_empty_description_gives_plain_lines_not_invented_claims() {
    let p = product("Pullover Hoodie", "");
    let shots = five(14);
    let lines = write(&p, &shots, &BrandKit::default(), None, &[]);
    assert_eq!(lines[3], "Another angle.");
    assert_honest(&p, &shots, &lines, &BrandKit::default(), None);
}

#[test]
fn markup_that_got_through_is_never_read_out() {
    let html = "<p>Soft <b>cotton</b> jersey&nbsp;tee.</p><script>alert('x')</script><style>p{color:red}</style>\
                <ul><li>Ribbed collar.</li><li>Relaxed fit.</li></ul> See https://shop.example/tee?utm=1 for more.";
    let p = product("<h1>Everyday Tee</h1>", html);
    let shots = five(14);
    let lines = write(&p, &shots, &BrandKit::default(), None, &[]);
    for line in &lines {
        assert!(!line.contains(['<', '>', '{']) && !line.contains("alert") && !line.contains("http"), "{line:?}");
    }
    assert_eq!(lines[0], "Meet the Everyday Tee by Demo Store.");
    assert_honest(&p, &shots, &lines, &BrandKit::default(), None);
}

#[test]
fn huge_copy_is_fitted_not_refused() {
    let sentence = "This relaxed hoodie has a soft brushed inside, a roomy hood with a drawstring, and ribbed cuffs. ";
    let long = sentence.repeat(600);
    assert!(long.split_whitespace().count() >= 10_000);
    let title = "Hoodie ".repeat(715);
    assert!(title.len() >= 5_000);
    for (t, d) in [("Pullover Hoodie", long.as_str()), (title.as_str(), "Soft."), (title.as_str(), long.as_str())] {
        let p = product(t, d);
        for max in [1, 3, 8, 14] {
            let shots = five(max);
            let started = std::time::Instant::now();
            let lines = write(&p, &shots, &BrandKit::default(), None, &[]);
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            for (line, shot) in lines.iter().zip(&shots) {
                assert!(word_count(line) <= shot.max_words && !line.is_empty(), "{line:?}");
            }
        }
    }
    // A word of 5,000 letters is no word.
    let p = product(&"x".repeat(5_000), "");
    let lines = write(&p, &five(14), &BrandKit::default(), None, &[]);
    assert!(lines.iter().all(|l| l.chars().count() < 200), "{lines:?}");
}

#[test]
fn japanese_copy_gets_japanese_lines_only() {
    let mut p = product(
        "オーガニックコットンTシャツ",
        "やわらかいコットンで作った半袖Tシャツです。胸に小さな刺繍ロゴがあります。ゆったりとしたシルエットで一年中着られます。",
    );
    p.vendor = Some("トゥルーウェア".into());
    p.product_type = None;
    let shots = five(8);
    let lines = write(&p, &shots, &BrandKit::default(), None, &[]);
    assert_eq!(lines[0], "トゥルーウェア「オーガニックコットンTシャツ」。");
    assert_eq!(lines[4], "タップしてチェック。");
    for line in &lines {
        let english = line.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w.len() > 1);
        assert!(!english, "English filler in {line:?}");
        assert!(word_count(line) <= 8, "{line:?}");
    }
    assert!(lines[1].contains("やわらかいコットン"), "{lines:?}");
}

#[test]
fn other_languages_close_in_their_own() {
    let fr = product("Sweat à capuche", "Un sweat à capuche avec une poche kangourou et des poignets côtelés.");
    let lines = write(&fr, &five(14), &BrandKit::default(), None, &[]);
    assert_eq!(lines[0], "Demo Store: Sweat à capuche.");
    assert_eq!(lines[4], "Appuyez pour acheter.");
    let ar = product("هودي قطني", "هودي قطني ناعم مع جيب أمامي وأساور مضلعة.");
    let lines = write(&ar, &five(14), &BrandKit::default(), None, &[]);
    assert_eq!(lines[4], "اضغط للتسوق.");
    // Copy too short to tell: the request's language.
    let short = product("Pullover Hoodie", "");
    let request = WriteRequest {
        product: &short,
        shots: &five(14),
        brand: &BrandKit::default(),
        language: "fr-CA",
        colour: None,
        rejections: &[],
    };
    let lines = write_lines(&request);
    assert_eq!((lines[0].as_str(), lines[4].as_str()), ("Demo Store: Pullover Hoodie.", "Appuyez pour acheter."));
    assert!(lines.iter().all(|l| !l.contains("Meet") && !l.contains("closer")), "{lines:?}");
    let ru = product("Худи", "Мягкое худи из хлопка с карманом.");
    let lines = write(&ru, &five(14), &BrandKit::default(), None, &[]);
    assert_eq!(lines[4], "Худи.", "no call to action known: the title alone (fitted later)");
}

#[test]
fn a_rejected_script_is_written_differently_and_deterministically() {
    let p = product(
        "Pullover Hoodie",
        "Soft brushed cotton. A roomy hood with a drawstring. Ribbed cuffs and hem. A kangaroo pocket. \
         A relaxed fit. Printed logo on the chest. Dropped shoulders.",
    );
    let shots = five(14);
    let brand = BrandKit::default();
    let first = write(&p, &shots, &brand, None, &[]);
    let rejected = ["too samey".to_string()];
    let second = write(&p, &shots, &brand, None, &rejected);
    assert_ne!(first, second);
    assert_ne!(first[0], second[0]);
    assert_ne!(first[1..4], second[1..4], "other sentences of the copy");
    assert_eq!(second, write(&p, &shots, &brand, None, &rejected), "deterministic");
    assert_honest(&p, &shots, &second, &brand, None);
}

#[test]
fn every_sample_product_reads_honestly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/products.json");
    let bytes = std::fs::read(path).unwrap();
    let listings = parse_catalog(&bytes).unwrap();
    // The options as the store lists them (whatever the catalog reader keeps of them).
    let raw: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let options_of = |handle: &str| -> Vec<ProductOption> {
        let products = raw["products"].as_array().unwrap();
        let p = products.iter().find(|p| p["handle"] == handle).unwrap();
        serde_json::from_value(p["options"].clone()).unwrap_or_default()
    };
    let brand = BrandKit::default();
    let mut coloured = 0;
    for listing in listings {
        let mut l = listing.unwrap();
        if l.options.is_empty() {
            l.options = options_of(l.handle.as_str());
        }
        let p = Product {
            handle: l.handle,
            title: l.title,
            description: l.description,
            vendor: l.vendor,
            product_type: l.product_type,
            price: l.price,
            currency: l.currency,
            options: l.options,
            variants: l.variants,
            references: vec![],
            gallery_hash: Sha256::of(b"x"),
            store: "examples/store".into(),
            updated_ms: 0,
        };
        let colours: Vec<Option<String>> = match p.colour_option() {
            Some((_, o)) => o.values.iter().cloned().map(Some).collect(),
            None => vec![None],
        };
        coloured += colours.iter().flatten().count();
        for colour in colours {
            for shots in [five(14), five(6), vec![brief(ShotRole::Opening, 10), brief(ShotRole::CallToAction, 10)]] {
                let lines = write(&p, &shots, &brand, colour.as_deref(), &[]);
                assert_honest(&p, &shots, &lines, &brand, colour.as_deref());
            }
        }
    }
    assert!(coloured >= 2, "the sample hoodie comes in two colours");
}

#[tokio::test]
async fn the_writer_port_answers_with_the_lines() {
    let p = hoodie();
    let shots = five(14);
    let brand = BrandKit::default();
    let request =
        WriteRequest { product: &p, shots: &shots, brand: &brand, language: "en", colour: None, rejections: &[] };
    let lines = TemplateWriter.write(&request).await.unwrap();
    assert_eq!(lines, write_lines(&request));
    assert_eq!(TemplateWriter.name(), "template");
}
