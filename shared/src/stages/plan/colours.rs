//! One colour per reel: a product's photos grouped by the colour variant they show.
//!
//! A photo's colour is found, in order of trust:
//!
//! | source | rule |
//! |---|---|
//! | the store's variant ids on the image | the colour option value of those variants (all must agree) |
//! | the image's alt text or file name | exactly one of the colour option's values, as a whole word |
//! | the photo likeness the crawl recorded | the colour group whose photos' garment colour is nearest, if within [`MAX_LIKENESS`] and clearly nearer than the next |
//!
//! A photo whose colour cannot be told is left out of a many-colour product's reels (with a note),
//! so a reel never cuts between two colours. A product without a colour option with two or more
//! values is one group: a store with one colour plans as before.

use crate::{PhotoPrint, Product, Reference, VariantSlug};

/// Largest distance (RGB, 0–441) between a photo's garment colour and a group's for the likeness to
/// place it. The sample hoodie's red and black measure about 150 apart; renditions of one photo under 10.
const MAX_LIKENESS: f64 = 60.0;
/// The nearest group must be this much nearer than the next one.
const CLEAR_MARGIN: f64 = 1.5;
/// Thumbnail cells this close to the backdrop colour are backdrop, not garment.
const BACKDROP_DISTANCE: f64 = 40.0;

/// The photos of one colour.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourGroup<'a> {
    /// The colour as the store names it; `None` for a one-colour product.
    pub name: Option<String>,
    /// The colour in reel ids and file names.
    pub slug: Option<VariantSlug>,
    /// In gallery order.
    pub references: Vec<&'a Reference>,
}

/// The groups (only colours that have photos, in the order of their first photo) and notes on what
/// was decided.
pub fn group<'a>(product: &Product, references: &'a [Reference]) -> (Vec<ColourGroup<'a>>, Vec<String>) {
    let mut notes = Vec::new();
    let Some((option_index, option)) = product.colour_option() else {
        return (vec![ColourGroup { name: None, slug: None, references: references.iter().collect() }], notes);
    };
    let values: Vec<&str> = option.values.iter().map(String::as_str).collect();
    let mut colour_of: Vec<Option<usize>> = references
        .iter()
        .map(|r| by_variant(product, option_index, &values, r).or_else(|| by_name(&values, r)))
        .collect();

    if colour_of.iter().all(Option::is_none) {
        notes.push(format!(
            "the store does not say which photo shows which colour ({}): planned as one",
            values.join(", ")
        ));
        return (vec![ColourGroup { name: None, slug: None, references: references.iter().collect() }], notes);
    }

    // Likeness: a photo the store says nothing about joins the colour it looks like.
    let garment: Vec<Option<[f64; 3]>> = references.iter().map(garment_colour).collect();
    let centres: Vec<Option<[f64; 3]>> = (0..values.len())
        .map(|c| {
            let members: Vec<[f64; 3]> =
                colour_of.iter().zip(&garment).filter(|(k, _)| **k == Some(c)).filter_map(|(_, g)| *g).collect();
            mean(&members)
        })
        .collect();
    for (i, r) in references.iter().enumerate() {
        if colour_of[i].is_some() {
            continue;
        }
        let placed = garment[i].and_then(|g| nearest(g, &centres));
        match placed {
            Some(c) => colour_of[i] = Some(c),
            None => notes.push(format!(
                "photo {} ({}) left out: its colour cannot be told, and a reel never cuts between colours",
                r.position,
                file_name(&r.source_url)
            )),
        }
    }

    let mut order: Vec<usize> = Vec::new();
    for c in colour_of.iter().flatten() {
        if !order.contains(c) {
            order.push(*c);
        }
    }
    let groups = order
        .into_iter()
        .map(|c| {
            let id =
                product.variants.iter().find(|v| v.options.get(option_index).map(String::as_str) == Some(values[c]));
            ColourGroup {
                name: Some(values[c].to_string()),
                slug: Some(VariantSlug::from_name(values[c], id.map_or(c as u64, |v| v.id))),
                references: references.iter().zip(&colour_of).filter(|(_, k)| **k == Some(c)).map(|(r, _)| r).collect(),
            }
        })
        .collect();
    (groups, notes)
}

/// The colour of the variants the store tied the photo to, if they all have one colour.
fn by_variant(product: &Product, option_index: usize, values: &[&str], r: &Reference) -> Option<usize> {
    let mut found: Option<usize> = None;
    for id in &r.variant_ids {
        let v = product.variants.iter().find(|v| v.id == *id)?;
        let colour = v.options.get(option_index)?;
        let c = values.iter().position(|x| x.eq_ignore_ascii_case(colour))?;
        if found.is_some_and(|f| f != c) {
            return None;
        }
        found = Some(c);
    }
    found
}

/// The one colour value named as a whole word in the photo's alt text or file name.
fn by_name(values: &[&str], r: &Reference) -> Option<usize> {
    let text = format!("{} {}", r.alt.as_deref().unwrap_or(""), file_name(&r.source_url)).to_lowercase();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let named: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            let v = v.to_lowercase();
            let parts: Vec<&str> = v.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            !parts.is_empty() && words.windows(parts.len()).any(|w| w == parts.as_slice())
        })
        .map(|(i, _)| i)
        .collect();
    match named.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

fn file_name(source: &str) -> &str {
    let path = source.split(['?', '#']).next().unwrap_or(source);
    path.rsplit('/').next().unwrap_or(path)
}

/// The garment's colour from the crawl's 4x4 colour thumbnail: the median of the cells that are not
/// the photo's backdrop.
fn garment_colour(r: &Reference) -> Option<[f64; 3]> {
    let PhotoPrint { colours, .. } = r.print.as_ref()?;
    let backdrop = r.framing.filter(|f| f.uniform_background).map(|f| f.background.map(f64::from));
    let cells: Vec<[f64; 3]> = colours
        .chunks_exact(3)
        .map(|c| [f64::from(c[0]), f64::from(c[1]), f64::from(c[2])])
        .filter(|c| backdrop.is_none_or(|b| distance(*c, b) > BACKDROP_DISTANCE))
        .collect();
    if cells.is_empty() {
        return None;
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = cells.iter().map(|c| c[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some([median(0), median(1), median(2)])
}

fn mean(colours: &[[f64; 3]]) -> Option<[f64; 3]> {
    if colours.is_empty() {
        return None;
    }
    let n = colours.len() as f64;
    Some([0, 1, 2].map(|k| colours.iter().map(|c| c[k]).sum::<f64>() / n))
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The group nearest `colour`, if near enough and clearly nearer than the next.
fn nearest(colour: [f64; 3], centres: &[Option<[f64; 3]>]) -> Option<usize> {
    let mut d: Vec<(usize, f64)> =
        centres.iter().enumerate().filter_map(|(i, c)| c.map(|c| (i, distance(colour, c)))).collect();
    d.sort_by(|a, b| a.1.total_cmp(&b.1));
    match d.as_slice() {
        [(i, best), rest @ ..]
            if *best <= MAX_LIKENESS && rest.first().is_none_or(|(_, next)| *next >= best * CLEAR_MARGIN) =>
        {
            Some(*i)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhotoKind;
    use crate::stages::plan::testutil::{product_with_colours, reference};

    #[test]
    fn variant_ids_then_names_then_likeness_place_each_photo() {
        let product = product_with_colours(&["Red", "Black"]);
        let mut red_flat = reference(1, PhotoKind::Flat, 1000, 1000);
        red_flat.variant_ids = vec![101];
        red_flat.print = Some(PhotoPrint { dhash: [0; 4], colours: [200, 20, 30].repeat(16) });
        let mut black_flat = reference(2, PhotoKind::Flat, 1000, 1000);
        black_flat.variant_ids = vec![102];
        black_flat.print = Some(PhotoPrint { dhash: [0; 4], colours: [20, 20, 20].repeat(16) });
        let mut red_worn = reference(3, PhotoKind::ModelWorn, 1000, 1000);
        red_worn.source_url = "photos/hoodie-red-worn.jpg".into();
        let mut unnamed_black = reference(4, PhotoKind::Detail, 1000, 1000);
        unnamed_black.print = Some(PhotoPrint { dhash: [0; 4], colours: [30, 25, 28].repeat(16) });
        let mut unknown = reference(5, PhotoKind::Detail, 1000, 1000);
        unknown.print = Some(PhotoPrint { dhash: [0; 4], colours: [40, 200, 40].repeat(16) });
        let refs = vec![red_flat, black_flat, red_worn, unnamed_black, unknown];

        let (groups, notes) = group(&product, &refs);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].name.as_deref(), Some("Red"));
        assert_eq!(groups[0].slug.as_ref().unwrap().as_str(), "red");
        let positions = |g: &ColourGroup| g.references.iter().map(|r| r.position).collect::<Vec<_>>();
        assert_eq!(positions(&groups[0]), [1, 3]);
        assert_eq!(positions(&groups[1]), [2, 4], "the unnamed dark photo looks like the black one");
        assert!(notes.iter().any(|n| n.contains("photo 5") && n.contains("left out")), "{notes:?}");
    }

    #[test]
    fn a_one_colour_product_is_one_group_and_silence_about_colours_too() {
        let refs = vec![reference(1, PhotoKind::Flat, 800, 800), reference(2, PhotoKind::Detail, 800, 800)];
        let (groups, notes) = group(&product_with_colours(&[]), &refs);
        assert_eq!((groups.len(), groups[0].references.len(), groups[0].name.clone()), (1, 2, None));
        assert!(notes.is_empty());
        let (groups, notes) = group(&product_with_colours(&["Red", "Blue"]), &refs);
        assert_eq!(groups.len(), 1);
        assert!(notes[0].contains("does not say"), "{notes:?}");
    }
}
