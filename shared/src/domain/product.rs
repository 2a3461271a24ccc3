//! Products as a storefront lists them, and as truereel keeps them.

use super::{Handle, Sha256};
use serde::{Deserialize, Serialize};

/// One gallery image as the storefront lists it (not yet fetched or trusted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedImage {
    /// Where the storefront says the image is: an URL, or a path relative to a store folder.
    pub src: String,
    pub alt: Option<String>,
    /// 1-based gallery position.
    pub position: u32,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The store's variants this photo belongs to (Shopify `variant_ids`; empty when not tied to a colour).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_ids: Vec<u64>,
}

/// One of a product's options as the store names it ("Color": Red, Black).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

impl ProductOption {
    /// Whether this option is the product's colour ("Color", "Colour", "Farbe", "Couleur", "色", ...).
    pub fn is_colour(&self) -> bool {
        let n = self.name.trim().to_lowercase();
        ["color", "colour", "farbe", "couleur", "colore", "kleur", "cor", "färg", "色", "カラー", "لون"]
            .iter()
            .any(|k| n == *k || n.starts_with(&format!("{k} ")) || n.ends_with(&format!(" {k}")))
    }
}

/// One purchasable variant: its store id and its option values in option order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
}

/// A product as the storefront lists it: copy and gallery, before photo intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductListing {
    pub handle: Handle,
    pub title: String,
    /// Plain text made from the store's HTML description.
    pub description: String,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    /// The lowest variant price as the store writes it ("59.00"), if any.
    pub price: Option<String>,
    /// ISO 4217 code of `price`, when the store says it (Woo, JSON-LD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub images: Vec<ListedImage>,
    /// The product's options (colour, size, ...), as the store names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ProductOption>,
    /// The product's variants, when the store lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// A product page still to be read (sitemap stores): the listing only names it and intake reads
    /// it (`Storefront::complete`), so listing a 10,000-page store stays one short invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// What the source changed in the store's text while reading it (copy cut to its limit), for the
    /// product's notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A product after intake: its copy plus the references that passed intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub handle: Handle,
    pub title: String,
    pub description: String,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub price: Option<String>,
    /// ISO 4217 code of `price`, when the store says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ProductOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// The product's usable reference photos, in gallery order.
    pub references: Vec<Sha256>,
    /// Hash over the references and the copy: a new gallery hash means a new reel.
    pub gallery_hash: Sha256,
    /// Where the product came from (store folder or URL).
    pub store: String,
    pub updated_ms: i64,
}

impl Product {
    /// The colour option, if the product has one with two or more values.
    pub fn colour_option(&self) -> Option<(usize, &ProductOption)> {
        self.options.iter().enumerate().find(|(_, o)| o.is_colour() && o.values.len() > 1)
    }

    /// The colour a variant id stands for, when the product has a colour option.
    pub fn colour_of_variant(&self, id: u64) -> Option<&str> {
        let (i, _) = self.colour_option()?;
        self.variants.iter().find(|v| v.id == id)?.options.get(i).map(String::as_str)
    }

    /// The gallery hash of a set of references and the product copy.
    pub fn gallery_hash(references: &[Sha256], title: &str, description: &str) -> Sha256 {
        let mut text = String::new();
        for r in references {
            text.push_str(r.as_str());
            text.push('\n');
        }
        text.push_str(title);
        text.push('\n');
        text.push_str(description);
        Sha256::of(text.as_bytes())
    }
}
