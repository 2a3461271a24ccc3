//! End-to-end tests of the web storefront against captured responses served by a test fetcher.

use super::test_fetcher::{MapFetcher, Route};
use super::*;
use crate::adapters::embedded::folder_blobs::FolderBlobStore;
use crate::adapters::storefront::StorefrontRouter;
use crate::ports::{Storefronts, Validators};
use serde_json::Value;

macro_rules! data {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/storefronts/", $name)).as_slice()
    };
}

const SHOP: &str = "http://127.0.0.1:8080/";

struct Fixture {
    fetcher: Arc<MapFetcher>,
    blobs: Arc<dyn BlobStore>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs: Arc<dyn BlobStore> = Arc::new(FolderBlobStore::new(dir.path()).unwrap());
        Self { fetcher: Arc::new(MapFetcher::new()), blobs, _dir: dir }
    }

    fn open(&self, locator: &str) -> WebStorefront {
        WebStorefront::open(locator, self.fetcher.clone(), self.blobs.clone()).unwrap()
    }

    fn shopify_pages(&self, base: &str) {
        self.fetcher
            .ok(&format!("{base}products.json?limit=250&page=1"), data!("shopify_storefront_page1.json"))
            .ok(&format!("{base}products.json?limit=250&page=2"), data!("shopify_storefront_page2.json"))
            .ok(&format!("{base}products.json?limit=250&page=3"), data!("shopify_storefront_empty.json"));
    }
}

fn ok(listing: &Listing) -> Vec<&ProductListing> {
    listing.iter().filter_map(|l| l.as_ref().ok()).collect()
}

/// Lists the store and reads every listed page, as intake does (`complete`); pages that are not
/// products drop out, unreadable ones become per-product errors.
async fn list_all(store: &WebStorefront) -> Listing {
    let mut out = Vec::new();
    for entry in store.list().await.unwrap() {
        match entry {
            Ok(stub) => match store.complete(stub.clone()).await {
                Ok(Some(done)) => out.push(Ok(done)),
                Ok(None) => {}
                Err(e) => out.push(Err(ListingError { product: stub.handle.to_string(), reason: e.to_string() })),
            },
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

fn find<'a>(listing: &'a Listing, handle: &str) -> &'a ProductListing {
    ok(listing)
        .into_iter()
        .find(|p| p.handle.as_str() == handle)
        .unwrap_or_else(|| panic!("no {handle} in {listing:#?}"))
}

fn err<'a>(listing: &'a Listing, product: &str) -> &'a ListingError {
    listing
        .iter()
        .filter_map(|l| l.as_ref().err())
        .find(|e| e.product == product)
        .unwrap_or_else(|| panic!("no error for {product} in {listing:#?}"))
}

fn srcs(p: &ProductListing) -> Vec<(&str, u32)> {
    p.images.iter().map(|i| (i.src.as_str(), i.position)).collect()
}

#[tokio::test]
async fn shopify_lists_pages_until_an_empty_one() {
    let fx = Fixture::new();
    fx.shopify_pages(SHOP);
    let store = fx.open(SHOP);
    let listing = store.list().await.unwrap();
    assert_eq!(store.platform(), Some(Platform::Shopify));
    let handles: Vec<_> = ok(&listing).iter().map(|p| p.handle.as_str()).collect();
    assert_eq!(handles, ["linen-camp-shirt", "wrap-midi-dress", "canvas-tote"]);
    assert_eq!(
        fx.fetcher.urls(),
        (1..=3).map(|n| format!("{SHOP}products.json?limit=250&page={n}")).collect::<Vec<_>>(),
        "detection reuses page 1, paging stops at the empty page"
    );
    assert!(fx.fetcher.requests().iter().all(|r| r.accept == "application/json"));

    let shirt = find(&listing, "linen-camp-shirt");
    assert_eq!(shirt.title, "Linen Camp Shirt");
    assert_eq!(shirt.description, "Relaxed camp collar in washed linen. 100% linen Model is 185 cm and wears size M");
    assert_eq!((shirt.vendor.as_deref(), shirt.product_type.as_deref()), (Some("Demo Atelier"), Some("Shirts")));
    assert_eq!(shirt.price.as_deref(), Some("79.00"), "the lowest variant price");
    // The `_800x` rendition of the first photo is the same photo: merged into position 1.
    assert_eq!(
        srcs(shirt),
        [
            ("https://cdn.shopify.com/s/files/1/0612/3456/7890/files/linen-camp-shirt-sand-front.jpg?v=1709133132", 1),
            ("https://cdn.shopify.com/s/files/1/0612/3456/7890/files/linen-camp-shirt-sand-back.jpg?v=1709133132", 2),
            ("http://demo-atelier.example/cdn/shop/files/linen-camp-shirt-navy-worn.jpg?v=1709133140", 3),
        ]
    );
    assert_eq!((shirt.images[0].width, shirt.images[0].height), (Some(2000), Some(2500)));
    assert_eq!(shirt.images[0].variant_ids, [45011111111111]);
    assert_eq!(shirt.images[2].variant_ids, [45011111111112]);
    assert!(shirt.images.iter().all(|i| i.alt.is_none()), "products.json carries no alt text");
    let options: Vec<_> = shirt.options.iter().map(|o| (o.name.as_str(), o.values.len())).collect();
    assert_eq!(options, [("Color", 2), ("Size", 1)]);
    assert_eq!(shirt.variants.iter().map(|v| v.id).collect::<Vec<_>>(), [45011111111111, 45011111111112]);

    let dress = find(&listing, "wrap-midi-dress");
    assert_eq!(dress.description, "Fluid viscose wrap dress & tie belt.", "double-escaped body_html");
    assert_eq!((dress.price.as_deref(), dress.product_type.as_deref()), (Some("129.90"), None));
}

#[tokio::test]
async fn the_shopify_admin_capture_keeps_alt_sizes_and_variants() {
    let fx = Fixture::new();
    fx.fetcher
        .ok(&format!("{SHOP}products.json?limit=250&page=1"), data!("shopify_admin_products.json"))
        .ok(&format!("{SHOP}products.json?limit=250&page=2"), data!("shopify_storefront_empty.json"));
    let listing = fx.open(SHOP).list().await.unwrap();
    let nano = find(&listing, "ipod-nano");
    assert_eq!(nano.title, "IPod Nano - 8GB");
    assert_eq!(nano.price.as_deref(), Some("199.00"));
    assert_eq!(
        srcs(nano),
        [
            ("https://cdn.shopify.com/s/files/1/0006/9093/3842/products/ipod-nano.png?v=1613607724", 1),
            ("https://cdn.shopify.com/s/files/1/0006/9093/3842/products/ipod-nano-2.png?v=1613607724", 2),
        ]
    );
    assert_eq!((nano.images[1].width, nano.images[1].height), (Some(123), Some(456)));
    assert_eq!(nano.images[1].variant_ids, [808950810]);
    assert!(find(&listing, "ipod-touch").images.is_empty());
}

#[tokio::test]
async fn a_shopify_product_url_reads_its_json() {
    let fx = Fixture::new();
    fx.fetcher.ok("https://shop.example/products/ipod-nano.json", data!("shopify_product.json"));
    let store = fx.open("https://shop.example/products/ipod-nano?variant=808950810");
    let listing = store.list().await.unwrap();
    assert_eq!(fx.fetcher.urls(), ["https://shop.example/products/ipod-nano.json"]);
    assert_eq!(listing.len(), 1);
    let nano = find(&listing, "ipod-nano");
    assert_eq!(srcs(nano), [("http://static.shopify.com/s/files/1/6909/3384/products/ipod-nano.png?0", 1)]);
    assert_eq!(store.platform(), Some(Platform::Shopify));
}

#[tokio::test]
async fn bad_shopify_products_fail_alone() {
    let fx = Fixture::new();
    fx.fetcher
        .ok(&format!("{SHOP}products.json?limit=250&page=1"), data!("shopify_products_missing_fields.json"))
        .ok(&format!("{SHOP}products.json?limit=250&page=2"), data!("shopify_storefront_empty.json"));
    let listing = fx.open(SHOP).list().await.unwrap();
    assert_eq!(listing.len(), 6);
    assert_eq!(ok(&listing).len(), 3);
    assert_eq!(err(&listing, "no-title-here").reason, "no title");
    assert!(err(&listing, r#""Shouty Scarf" (#3)"#).reason.contains("only lowercase"));
    assert!(err(&listing, "#4").reason.contains("not a JSON object"));
    assert!(find(&listing, "socks").images.is_empty());
    let cap = find(&listing, "cap");
    // The `javascript:` entry is kept, to be skipped at intake as "refused: the javascript: scheme".
    assert_eq!(srcs(cap), [("javascript:alert(1)", 2), ("http://cdn.shopify.com/s/files/1/0001/files/cap.jpg?v=2", 3)]);
    assert_eq!(cap.price, None);
    assert_eq!(find(&listing, "ribbed-beanie").price.as_deref(), Some("25.00"));
}

#[tokio::test]
async fn shopify_paging_is_capped_and_stops_when_pages_repeat() {
    let fx = Fixture::new();
    for n in 1..=5 {
        fx.fetcher.ok(&format!("{SHOP}products.json?limit=250&page={n}"), data!("shopify_storefront_page1.json"));
    }
    let listing = fx.open(SHOP).list().await.unwrap();
    assert_eq!(listing.len(), 2, "page 2 repeats page 1: the store ignores `page`");
    assert_eq!(fx.fetcher.urls().len(), 2);

    let fx = Fixture::new();
    fx.shopify_pages(SHOP);
    let limits = Limits { shopify_pages: 1, ..Limits::default() };
    let listing = fx.open(SHOP).with_limits(limits).list().await.unwrap();
    assert_eq!(listing.len(), 2);
    assert_eq!(fx.fetcher.urls().len(), 1);
}

fn woo_page(n: u32) -> String {
    format!("{SHOP}wp-json/wc/store/v1/products?page={n}&per_page=100")
}

#[tokio::test]
async fn woo_pages_by_total_pages_with_minor_unit_prices() {
    let fx = Fixture::new();
    fx.fetcher
        .ok_with(&woo_page(1), data!("woo_store_api_page1.json"), &[("X-WP-Total", "4"), ("X-WP-TotalPages", "2")])
        .ok_with(&woo_page(2), data!("woo_store_api_page2.json"), &[("X-WP-Total", "4"), ("X-WP-TotalPages", "2")]);
    let store = fx.open(SHOP);
    let listing = store.list().await.unwrap();
    assert_eq!(store.platform(), Some(Platform::WooCommerce));
    assert_eq!(fx.fetcher.urls(), [format!("{SHOP}products.json?limit=250&page=1"), woo_page(1), woo_page(2)]);
    assert_eq!(listing.len(), 4);

    let crew = find(&listing, "merino-crew-oatmeal");
    assert_eq!(crew.title, "Merino Crew – Oatmeal");
    assert_eq!((crew.price.as_deref(), crew.currency.as_deref()), (Some("179.95"), Some("EUR")));
    assert_eq!(crew.product_type.as_deref(), Some("Knitwear"));
    assert_eq!(crew.description, "Knitted from extra-fine merino wool. Model wears size S.");
    assert_eq!(
        srcs(crew),
        [
            ("https://woo-demo.example/wp-content/uploads/2024/03/merino-crew-oatmeal.jpg", 1),
            ("https://woo-demo.example/wp-content/uploads/2024/03/merino-crew-oatmeal-worn.jpg", 2),
        ]
    );
    assert_eq!(
        (crew.images[0].width, crew.images[0].alt.as_deref()),
        (Some(1200), Some("Merino crew in oatmeal, front"))
    );
    assert_eq!(crew.images[1].alt, None);

    let dress = find(&listing, "ete-slip-dress");
    assert_eq!(dress.price.as_deref(), Some("89.00"), "the low end of a variable product's range");
    assert_eq!(dress.vendor.as_deref(), Some("Maison Démo"));
    assert_eq!(
        srcs(dress),
        [("https://woo-demo.example/wp-content/uploads/2024/04/slip-dress-1024x1536.jpg", 1)],
        "no src: the widest srcset candidate"
    );
    assert_eq!(dress.images[0].width, Some(1024));
    // The attributes used for variations are its options (Material is not); slugs read back as names,
    // and a variation for "any" size has an empty value.
    let options: Vec<_> = dress.options.iter().map(|o| (o.name.as_str(), o.values.clone())).collect();
    assert_eq!(
        options,
        [("Size", vec!["S".to_string(), "M".into()]), ("Colour", vec!["Ivory".into(), "Black & Gold".into()])]
    );
    let variants: Vec<_> = dress.variants.iter().map(|v| (v.id, v.title.as_str(), v.options.clone())).collect();
    assert_eq!(
        variants,
        [
            (416, "S / Ivory", vec!["S".to_string(), "Ivory".into()]),
            (417, "M / Ivory", vec!["M".into(), "Ivory".into()]),
            (418, "Black & Gold", vec!["".into(), "Black & Gold".into()]),
        ]
    );
    assert!(crew.options.is_empty() && crew.variants.is_empty(), "a simple product");
    assert_eq!(err(&listing, "nameless").reason, "no name");
    let belt = find(&listing, "leather-belt");
    assert_eq!(belt.images.len(), 1, "belt-600x600.jpg is a rendition of belt.jpg");
    assert_eq!(belt.description, "Vegetable-tanned leather.");
}

#[tokio::test]
async fn woo_without_a_page_count_stops_at_a_short_page_and_falls_back_to_rest_route() {
    let fx = Fixture::new();
    let plain = format!("{SHOP}?rest_route=/wc/store/v1/products&page=1&per_page=100");
    fx.fetcher.ok(&plain, data!("woo_store_api_page2.json"));
    let store = fx.open(&format!("{SHOP}#platform=woocommerce"));
    let listing = store.list().await.unwrap();
    assert_eq!(ok(&listing).len(), 1);
    assert_eq!(fx.fetcher.urls(), [woo_page(1), plain], "forced: no Shopify probe; one short page is the last");
}

#[tokio::test]
async fn a_shopify_sitemap_leads_to_product_json() {
    let fx = Fixture::new();
    let base = "https://demo-atelier.example/";
    let page1: Value = serde_json::from_slice(data!("shopify_storefront_page1.json")).unwrap();
    let page2: Value = serde_json::from_slice(data!("shopify_storefront_page2.json")).unwrap();
    let one = |p: &Value| serde_json::to_vec(&serde_json::json!({ "product": p })).unwrap();
    fx.fetcher
        .status(&format!("{base}products.json?limit=250&page=1"), 403)
        .ok(&format!("{base}sitemap.xml"), data!("shopify_sitemap_index.xml"))
        .ok(
            &format!("{base}sitemap_products_1.xml?from=8712345678901&to=8712345678903"),
            data!("shopify_sitemap_products_1.xml"),
        )
        .ok(&format!("{base}products/linen-camp-shirt.json"), one(&page1["products"][0]))
        .ok(&format!("{base}products/canvas-tote.json"), one(&page2["products"][0]));
    let store = fx.open(base);
    let listing = list_all(&store).await;
    assert_eq!(store.platform(), Some(Platform::Sitemap));
    let handles: Vec<_> = ok(&listing).iter().map(|p| p.handle.as_str()).collect();
    assert_eq!(handles, ["linen-camp-shirt", "canvas-tote"]);
    assert_eq!(listing.len(), 2, "the home page in the product sitemap is not a product");
    let urls = fx.fetcher.urls();
    assert!(!urls.iter().any(|u| u.contains("sitemap_pages") || u.contains("sitemap_collections")), "{urls:#?}");
    assert_eq!(find(&listing, "linen-camp-shirt").images.len(), 3);
}

#[tokio::test]
async fn a_wordpress_sitemap_from_robots_reads_each_pages_json_ld() {
    let fx = Fixture::new();
    let base = "https://shop.example/";
    let page = |slug: &str| format!("{base}product/{slug}/");
    fx.fetcher
        .ok(
            &format!("{base}robots.txt"),
            "User-agent: *\nDisallow: /wp-admin/\n\nSitemap: https://shop.example/sitemap_index.xml\n",
        )
        .ok(&format!("{base}sitemap_index.xml"), data!("wp_sitemap_index.xml"))
        .ok(&format!("{base}product-sitemap.xml"), data!("wp_product_sitemap.xml"))
        .ok(&page("pleated-trousers"), data!("page_jsonld_graph.html"))
        .ok(&page("silk-scarf"), data!("page_broken_trailing_comma.html"))
        .ok(&page("trench-coat"), data!("page_comment_in_script.html"))
        .ok(&page("cotton-tee"), data!("page_control_chars.html"))
        .ok(&page("quoted-cardigan"), data!("page_unescaped_quotes.html"))
        .ok(&page("gift-card"), data!("page_not_a_product.html"));
    let store = fx.open(base);
    // Listing names the pages without reading them: each is read when its product is taken in.
    let stubs = store.list().await.unwrap();
    assert_eq!(stubs.len(), 6);
    assert!(stubs.iter().flatten().all(|l| l.page.is_some() && l.title.is_empty()), "{stubs:#?}");
    assert!(!fx.fetcher.urls().iter().any(|u| u.contains("/product/")), "no product page read while listing");
    let listing = list_all(&store).await;
    let urls = fx.fetcher.urls();
    assert!(
        !urls.iter().any(|u| u.contains("post-sitemap") || u.contains("page-sitemap") || u.ends_with("/shop/")),
        "{urls:#?}"
    );
    assert_eq!(listing.len(), 6);

    let trousers = find(&listing, "pleated-trousers");
    assert_eq!(trousers.title, "Pleated Trousers");
    assert_eq!(trousers.description, "High-rise wool trousers with a double pleat & pressed crease.");
    assert_eq!((trousers.price.as_deref(), trousers.currency.as_deref()), (Some("145.00"), Some("GBP")));
    assert_eq!(trousers.vendor.as_deref(), Some("Shop Example"));
    assert_eq!(
        srcs(trousers),
        [
            ("https://shop.example/wp-content/uploads/2024/05/pleated-trousers.jpg", 1),
            ("https://shop.example/wp-content/uploads/2024/05/pleated-trousers-4x3.jpg", 2),
            ("https://shop.example/wp-content/uploads/2024/05/pleated-trousers-16x9.jpg", 3),
        ],
        "aspect-ratio crops stay, the -300x300 rendition merges, OG's smaller share image is not used"
    );
    assert_eq!(trousers.images[0].alt.as_deref(), Some("Pleated trousers, front"));

    let scarf = find(&listing, "silk-scarf");
    assert_eq!((scarf.images.len(), scarf.price.as_deref()), (2, Some("59")));
    let coat = find(&listing, "trench-coat");
    assert_eq!(
        srcs(coat),
        [
            ("https://shop.example/wp-content/uploads/2024/03/trench-coat.jpg", 1),
            ("https://shop.example/wp-content/uploads/2024/03/trench-coat-stone.jpg", 2),
            ("https://shop.example/wp-content/uploads/2024/03/trench-coat-black.jpg", 3),
        ]
    );
    assert_eq!(coat.price.as_deref(), Some("295.00"));
    assert_eq!(coat.options.len(), 1);
    assert_eq!((coat.options[0].name.as_str(), coat.options[0].values.join(",")), ("Color", "Stone,Black".into()));
    let (stone, black) = (coat.variants[0].id, coat.variants[1].id);
    assert_eq!((coat.variants[0].title.as_str(), coat.variants[1].price.as_deref()), ("Stone", Some("295.00")));
    let tagged: Vec<_> = coat.images.iter().map(|i| i.variant_ids.clone()).collect();
    assert_eq!(tagged, [vec![], vec![stone], vec![black]], "each colour's photo names its variant");
    let tee = find(&listing, "cotton-tee");
    assert_eq!((tee.description.as_str(), tee.price.as_deref()), ("Heavy cotton. Boxy fit.", Some("30")));
    assert_eq!((tee.images[0].width, tee.images[0].height), (Some(1200), Some(1500)));

    assert!(err(&listing, "quoted-cardigan").reason.contains("JSON-LD block 1 is not valid JSON"));
    assert!(err(&listing, "gift-card").reason.contains("no schema.org Product"));
}

#[tokio::test]
async fn a_page_locator_reads_that_page_first() {
    let fx = Fixture::new();
    let url = "https://shop.example/product/pleated-trousers/";
    fx.fetcher.ok(url, data!("page_jsonld_graph.html"));
    let store = fx.open(url);
    let listing = store.list().await.unwrap();
    assert_eq!(fx.fetcher.urls(), [url]);
    assert_eq!(store.platform(), Some(Platform::Page));
    assert_eq!(find(&listing, "pleated-trousers").images.len(), 3);

    let fx = Fixture::new();
    let url = "https://shop.example/product/quoted-cardigan/";
    fx.fetcher.ok(url, data!("page_unescaped_quotes.html"));
    let listing = fx.open(url).list().await.unwrap();
    assert_eq!(listing.len(), 1, "a broken product page fails as one product, not as the store");
    assert!(err(&listing, "quoted-cardigan").reason.contains("not valid JSON"));
}

#[tokio::test]
async fn detection_tries_each_platform_in_order_then_says_why_none_fit() {
    let fx = Fixture::new();
    fx.fetcher.ok(SHOP, "<html><head><title>Home</title></head></html>");
    let e = fx.open(SHOP).list().await.unwrap_err();
    let StorefrontError::Unreadable { reason, .. } = e else { panic!("{e:?}") };
    for platform in ["shopify:", "woocommerce:", "sitemap:", "page:"] {
        assert!(reason.contains(platform), "{reason}");
    }
    assert_eq!(
        fx.fetcher.urls(),
        [
            format!("{SHOP}products.json?limit=250&page=1"),
            woo_page(1),
            format!("{SHOP}?rest_route=/wc/store/v1/products&page=1&per_page=100"),
            format!("{SHOP}sitemap.xml"),
            format!("{SHOP}robots.txt"),
            format!("{SHOP}sitemap_index.xml"),
            format!("{SHOP}wp-sitemap.xml"),
            SHOP.to_string(),
        ]
    );
}

#[tokio::test]
async fn transient_trouble_is_transient_and_a_forced_miss_is_unreadable() {
    let fx = Fixture::new();
    fx.fetcher.status(&format!("{SHOP}products.json?limit=250&page=1"), 503);
    let e = fx.open(SHOP).list().await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");

    let fx = Fixture::new();
    fx.shopify_pages(SHOP);
    let e = fx.open(&format!("{SHOP}#platform=sitemap")).list().await.unwrap_err();
    assert!(matches!(e, StorefrontError::Unreadable { .. }), "{e:?}");
    assert!(!fx.fetcher.urls().iter().any(|u| u.contains("products.json")), "forced: nothing else is tried");

    let fx = Fixture::new();
    assert!(WebStorefront::open(&format!("{SHOP}#platform=magento"), fx.fetcher.clone(), fx.blobs.clone()).is_err());
    assert!(WebStorefront::open("ftp://shop.example/", fx.fetcher.clone(), fx.blobs.clone()).is_err());
}

#[tokio::test]
async fn a_second_crawl_sends_validators_and_reuses_cached_pages() {
    let fx = Fixture::new();
    fx.shopify_pages(SHOP);
    let first = fx.open(SHOP).list().await.unwrap();
    assert!(fx.fetcher.requests().iter().all(|r| r.validators.is_none()));
    fx.fetcher.clear_log();

    let second = fx.open(SHOP).list().await.unwrap();
    assert_eq!(first, second, "304s answer the cached bodies");
    let requests = fx.fetcher.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.validators.as_ref().is_some_and(|v| v.etag.is_some())), "{requests:#?}");
    assert!(fx.blobs.head(&PageCache::key(&format!("{SHOP}products.json?limit=250&page=1"))).await.unwrap().is_some());

    // A changed page comes back in full and replaces its record.
    fx.fetcher.ok(&format!("{SHOP}products.json?limit=250&page=2"), data!("shopify_admin_products.json"));
    fx.fetcher.clear_log();
    let third = fx.open(SHOP).list().await.unwrap();
    assert_eq!(
        ok(&third).iter().map(|p| p.handle.as_str()).collect::<Vec<_>>(),
        ["linen-camp-shirt", "wrap-midi-dress", "ipod-nano", "ipod-touch"]
    );
    let fourth = fx.open(SHOP).list().await.unwrap();
    assert_eq!(third, fourth);
}

#[tokio::test]
async fn woo_page_counts_survive_a_304() {
    let fx = Fixture::new();
    let headers = [("X-WP-TotalPages", "2")];
    fx.fetcher
        .status(&format!("{SHOP}products.json?limit=250&page=1"), 404)
        .ok_with(&woo_page(1), data!("woo_store_api_page1.json"), &headers)
        .ok_with(&woo_page(2), data!("woo_store_api_page2.json"), &headers);
    let first = fx.open(SHOP).list().await.unwrap();
    fx.fetcher.clear_log();
    let second = fx.open(&format!("{SHOP}#platform=woocommerce")).list().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fx.fetcher.urls(), [woo_page(1), woo_page(2)], "page 2 is still known to exist");
}

#[tokio::test]
async fn images_are_fetched_conditionally_and_errors_name_the_url() {
    let fx = Fixture::new();
    let src = "https://cdn.shopify.com/s/files/1/x/tee.jpg?v=1";
    fx.fetcher.route(src, Route { status: 200, headers: vec![], body: "jpeg".into(), etag: Some("\"e1\"".into()) });
    fx.fetcher.status("https://cdn.example/gone.jpg", 404).status("https://cdn.example/busy.jpg", 503);
    let store = fx.open(SHOP);

    let ImageFetch::Fresh { bytes, validators } = store.fetch_image(src, None).await.unwrap() else { panic!() };
    assert_eq!((&bytes[..], validators.etag.as_deref()), (&b"jpeg"[..], Some("\"e1\"")));
    let last = fx.fetcher.requests().pop().unwrap();
    assert_eq!((last.accept.as_str(), last.validators), ("image/*", None));

    let known = Validators { etag: Some("\"e1\"".into()), last_modified: None };
    assert!(matches!(store.fetch_image(src, Some(&known)).await.unwrap(), ImageFetch::NotModified));

    match store.fetch_image("https://cdn.example/gone.jpg", None).await.unwrap_err() {
        StorefrontError::Image { src, reason, .. } => {
            assert_eq!(src, "https://cdn.example/gone.jpg");
            assert_eq!(reason, "HTTP 404");
        }
        e => panic!("{e:?}"),
    }
    let e = store.fetch_image("https://cdn.example/busy.jpg", None).await.unwrap_err();
    assert!(e.is_transient() && e.to_string().contains("https://cdn.example/busy.jpg"), "{e}");
    let e = store.fetch_image("data:image/png;base64,AA", None).await.unwrap_err();
    assert!(matches!(e, StorefrontError::Image { .. }), "{e:?}");
}

#[tokio::test]
async fn the_router_opens_web_locators_when_it_has_a_fetcher() {
    let fx = Fixture::new();
    let bare = StorefrontRouter::new(fx.blobs.clone());
    let e = bare.open("https://shop.example/").err().unwrap();
    assert!(e.to_string().contains("fetcher"), "{e}");
    let router = StorefrontRouter::new(fx.blobs.clone()).with_fetcher(fx.fetcher.clone());
    let store = router.open("https://shop.example/#platform=shopify").unwrap();
    assert_eq!(store.describe(), "web store https://shop.example/ (shopify)");
    assert!(router.open("https://shop.example/#platform=nope").is_err());
}
