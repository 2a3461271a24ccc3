//! The honesty guard against invented claims, the brand's words, and text in any script.

use super::*;
use crate::{Handle, Product, ProductOption, Sha256, Variant};

fn hoodie() -> Product {
    Product {
        handle: Handle::parse("pullover-hoodie").unwrap(),
        title: "Pullover Hoodie".into(),
        description: "Pullover hooded sweatshirt in soft cotton with a front kangaroo pocket and ribbed cuffs and \
                      hem. A white circular logo is printed on the left chest. Available in red (with white \
                      drawstrings) and black. Machine wash cold. Made in Portugal."
            .into(),
        vendor: Some("Demo Store".into()),
        product_type: Some("Hoodie".into()),
        price: Some("59.00".into()),
        currency: Some("USD".into()),
        options: vec![
            ProductOption { name: "Color".into(), values: vec!["Red".into(), "Black".into()] },
            ProductOption { name: "Size".into(), values: vec!["XS".into(), "S".into(), "M".into(), "L".into()] },
        ],
        variants: vec![Variant {
            id: 1,
            title: "Red / XS".into(),
            options: vec!["Red".into(), "XS".into()],
            price: None,
        }],
        references: vec![],
        gallery_hash: Sha256::of(b"x"),
        store: "s".into(),
        updated_ms: 0,
    }
}

fn lines(of: &[&str]) -> Vec<String> {
    of.iter().map(|l| l.to_string()).collect()
}

fn guarded(of: &[&str], colour: Option<&str>) -> Guarded {
    guard(&lines(of), &hoodie(), &BrandKit::default(), colour)
}

#[test]
fn an_invented_material_is_cut_and_the_reason_names_the_copys() {
    let g = guarded(&["A soft silk hoodie for cool evenings."], None);
    assert_eq!(g.lines, ["A soft hoodie for cool evenings."]);
    let d = &g.dropped[0];
    assert_eq!((d.shot, d.claim.as_str(), d.category.as_str()), (0, "silk", "material"));
    assert_eq!(d.reason, "the copy says cotton, not silk");
    assert_eq!(d.original, "A soft silk hoodie for cool evenings.");
    assert_eq!(d.rewritten.as_deref(), Some("A soft hoodie for cool evenings."));
    let g = guarded(&["Made from 100% silk."], None);
    assert_eq!(g.lines, ["Pullover Hoodie."], "nothing left: a line from the copy");
    assert_eq!(g.dropped[0].rewritten, None);
}

#[test]
fn a_wrong_price_is_cut_and_the_right_one_stands() {
    let g = guarded(&["Soft cotton, only $20."], None);
    assert_eq!(g.lines, ["Soft cotton."]);
    assert_eq!(g.dropped[0].category, "price");
    assert_eq!(g.dropped[0].claim, "$20");
    assert_eq!(g.dropped[0].reason, "the copy's price is 59.00 USD, not $20");
    for ok in ["Yours for $59.", "Just 59.00 USD.", "Only 59 dollars."] {
        let g = guarded(&[ok], None);
        assert_eq!((g.lines[0].as_str(), g.dropped.len()), (ok, 0), "{ok}");
    }
    let g = guarded(&["Only €59."], None);
    assert_eq!(g.dropped[0].category, "price", "the copy's price is in dollars");
}

#[test]
fn a_reel_names_only_its_own_colour() {
    let g = guarded(&["The black hoodie, with ribbed cuffs."], Some("Red"));
    assert_eq!(g.lines, ["The hoodie, with ribbed cuffs."]);
    assert_eq!((g.dropped[0].claim.as_str(), g.dropped[0].category.as_str()), ("black", "colour"));
    assert_eq!(g.dropped[0].reason, "this reel is about Red, not black");
    // The reel's colour and the copy's detail colours stand.
    let ok = "Bright red, with white drawstrings and a white circular logo.";
    assert_eq!(guarded(&[ok], Some("Red")).lines, [ok]);
    // Without a reel colour, the copy's colours stand and others go.
    assert_eq!(guarded(&["In black."], None).lines, ["In black."]);
    let g = guarded(&["A green hoodie."], None);
    assert_eq!(g.lines, ["A hoodie."]);
    assert_eq!(g.dropped[0].reason, "the copy says white, red and black, not green");
}

#[test]
fn an_absent_certification_is_cut() {
    let g = guarded(&["GOTS-certified organic cotton, ribbed cuffs."], None);
    assert_eq!(g.lines, ["Cotton, ribbed cuffs."]);
    let cut: Vec<&str> = g.dropped.iter().map(|d| d.claim.as_str()).collect();
    assert_eq!(cut, ["GOTS", "certified", "organic"]);
    assert!(g.dropped.iter().all(|d| d.category == "certification"));
    assert_eq!(g.dropped[0].reason, "the copy does not say GOTS");
}

#[test]
fn an_invented_number_goes_with_its_clause() {
    let g = guarded(&["Soft cotton with 3 pockets and ribbed cuffs."], None);
    assert_eq!(g.lines, ["Soft cotton and ribbed cuffs."]);
    assert_eq!((g.dropped[0].claim.as_str(), g.dropped[0].category.as_str()), ("3 pockets", "number"));
    assert_eq!(g.dropped[0].reason, "the copy never says 3");
    let g = guarded(&["Two pockets, ribbed cuffs."], None);
    assert_eq!(g.lines, ["Ribbed cuffs."]);
}

#[test]
fn care_origin_sizes_and_promises_are_checked() {
    let g = guarded(&["Hand wash only."], None);
    assert_eq!(g.dropped[0].reason, "the copy says machine wash, not Hand wash only");
    assert_eq!(g.lines, ["Pullover Hoodie."]);
    let g = guarded(&["Soft cotton, made in Italy."], None);
    assert_eq!(g.lines, ["Soft cotton."]);
    assert_eq!(g.dropped[0].reason, "the copy says Made in Portugal, not made in Italy");
    assert_eq!(guarded(&["Made in Portugal, machine washable."], None).dropped, []);
    let g = guarded(&["Sizes XS to XXL."], None);
    assert_eq!(g.dropped[0].reason, "the copy's sizes are XS, S, M, L, not XXL");
    assert_eq!(guarded(&["Sizes XS to L."], None).dropped, []);
    let g = guarded(&["Our best hoodie, waterproof and warm, with a lifetime warranty."], None);
    let cats: Vec<&str> = g.dropped.iter().map(|d| d.category.as_str()).collect();
    assert_eq!(cats, ["superlative", "performance", "guarantee"]);
    assert_eq!(g.lines, ["Our hoodie, warm."]);
}

#[test]
fn supported_claims_stand_untouched() {
    let ok = [
        "Soft cotton with a front kangaroo pocket.",
        "Red, with white drawstrings.",
        "$59, sizes XS to L.",
        "Made in Portugal.",
        "Machine wash cold.",
        "Meet the Pullover Hoodie by Demo Store in red.",
    ];
    let g = guarded(&ok, Some("Red"));
    assert_eq!(g.lines, ok);
    assert!(g.dropped.is_empty(), "{:?}", g.dropped);
}

#[test]
fn the_brands_words_to_avoid_never_appear_and_its_spellings_do() {
    let brand = BrandKit {
        avoid: vec!["cheap".into(), "must-have".into(), "Hoodie".into()],
        say: vec![("tshirt".into(), "T-Shirt".into()), ("pullover".into(), "PullOver".into())],
        ..BrandKit::default()
    };
    let g = guard(
        &lines(&["A cheap, must-have pullover.", "CHEAP and soft, like a tshirt.", "Cheap!"]),
        &hoodie(),
        &brand,
        None,
    );
    assert_eq!(g.lines[0], "PullOver.", "\"A\" alone says nothing");
    assert_eq!(g.lines[1], "Soft, like a T-Shirt.");
    assert_eq!(g.lines[2], "PullOver.", "the title without the avoided word");
    for line in &g.lines {
        for word in &brand.avoid {
            assert!(find_ci(line, word).is_empty(), "{word} in {line}");
        }
    }
    let avoided: Vec<&str> =
        g.dropped.iter().filter(|d| d.category == "avoided_word").map(|d| d.claim.as_str()).collect();
    assert_eq!(avoided, ["cheap", "must-have", "CHEAP", "Cheap"]);
    assert_eq!(g.dropped[0].reason, "the brand avoids \"cheap\"");
}

#[test]
fn lines_in_other_scripts_pass_through_without_panicking() {
    let ja = "柔らかいコットンのパーカー、胸にロゴ。";
    let ar = "هودي قطني ناعم مع جيب أمامي.";
    let g = guarded(&[ja, ar], Some("Red"));
    assert_eq!(g.lines, [ja, ar]);
    assert!(g.dropped.is_empty());
    // Numbers are read in any script.
    let g = guarded(&["ポケットが3つ、柔らかいコットン。"], None);
    assert_eq!(g.lines, ["柔らかいコットン。"]);
    let g = guarded(&["السعر ٢٠ دولار، قطن ناعم."], None);
    assert_eq!((g.dropped[0].category.as_str(), g.lines[0].as_str()), ("number", "قطن ناعم."));
    for odd in ["", " ", "\u{0}", "💥", "((", "$", "%", "#1", "İ", "ﬁ", &"語".repeat(3000), &"word, ".repeat(3000)]
    {
        let _ = guarded(&[odd], Some("Red"));
    }
}

#[test]
fn the_language_of_the_sample_copy() {
    assert_eq!(language_of(&hoodie().description), "en");
}

#[test]
fn random_text_in_any_script_never_panics() {
    let alphabet: Vec<char> =
        "aZ09 .,;:!?-–—()%$€#'’\"「」、。，ー語シャツ्सूतीقطن٢٠ßİﬁ💥\u{0}\u{202e}\u{301}\n\t".chars().collect();
    let mut rng = fastrand::Rng::with_seed(7);
    let words = ["silk", "cotton", "black", "red", "$20", "59", "XL", "made in Italy", "GOTS", "best", "cheap"];
    let brand = BrandKit {
        avoid: vec!["cheap".into(), "、".into()],
        say: vec![("red".into(), "RED".into())],
        ..BrandKit::default()
    };
    for _ in 0..400 {
        let mut line = String::new();
        for _ in 0..rng.usize(0..40) {
            if rng.u8(0..4) == 0 {
                line.push_str(words[rng.usize(0..words.len())]);
            } else {
                line.push(alphabet[rng.usize(0..alphabet.len())]);
            }
        }
        let g = guard(&[line.clone()], &hoodie(), &brand, Some("Red"));
        assert_eq!(g.lines.len(), 1);
        assert!(find_ci(&g.lines[0], "cheap").is_empty(), "{line:?} → {:?}", g.lines[0]);
        for n in [0, 1, 5, 14] {
            let f = fit(&line, n);
            assert!(n == 0 && f.is_empty() || word_count(&f) <= n.max(1), "{line:?} {n} → {f:?}");
        }
        let _ = (language_of(&line), claims_in(&line), sentences(&line), clauses(&line));
    }
}
