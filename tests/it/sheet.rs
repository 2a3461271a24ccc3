//! The contact sheet of a judged round, drawn from a reel the embedded pipeline made: each shot's
//! photo beside its frames, its verdict in red or green, untrusted reasons drawn as they are.

use image::RgbImage;
use truereel::homes::embedded::Embedded;
use truereel::media::contact_sheet::{FAIL_COLOUR, Layout, PASS_COLOUR, Rect, TILE_HEIGHT, tile_size};
use truereel::stages::sheet::store_contact_sheet;
use truereel::{BlobKey, Check, Reel, Verdict};
use truereel_tests::{Misrepresenting, drain_store, init_logs, sample_store, small_config};

const PRODUCT: &str = "pullover-hoodie";
const OTHER: &str = "slipon-blue-side.jpg";

fn mean(img: &RgbImage, (x, y, w, h): Rect) -> [f64; 3] {
    let mut sum = [0.0; 3];
    for yy in y..y + h {
        for xx in x..x + w {
            let p = img.get_pixel(xx, yy).0;
            (0..3).for_each(|c| sum[c] += p[c] as f64);
        }
    }
    sum.map(|s| s / (w * h) as f64)
}

fn near(a: [f64; 3], b: [f64; 3], within: f64) -> bool {
    (0..3).all(|c| (a[c] - b[c]).abs() <= within)
}

fn colour(c: [u8; 3]) -> [f64; 3] {
    c.map(f64::from)
}

/// The sheet stored under `key`, decoded, checked to be as big as its layout says.
fn sheet(e: &Embedded, key: &BlobKey, reel: &Reel) -> (RgbImage, Layout) {
    let path = e.ports.blobs.local_path(key).filter(|p| p.is_file()).unwrap_or_else(|| panic!("{key} is not stored"));
    let img = image::open(&path).unwrap().to_rgb8();
    let settings = &e.ports.settings;
    let layout = Layout::new(reel.plan.shots.len(), tile_size(settings.width, settings.height));
    assert_eq!((img.width(), img.height()), (layout.width(), layout.height()));
    assert!(img.width() < 2000, "{} wide", img.width());
    (img, layout)
}

/// Each row's verdict bar: red where a check about the shot failed, green where all passed.
fn assert_bars(img: &RgbImage, layout: &Layout, reel: &Reel, verdicts: &[&Verdict]) {
    for shot in &reel.plan.shots {
        let failed = verdicts.iter().flat_map(|v| &v.checks).any(|c| c.shot == Some(shot.index) && !c.passed);
        let want = colour(if failed { FAIL_COLOUR } else { PASS_COLOUR });
        let bar = mean(img, layout.bar(shot.index as usize));
        assert!(near(bar, want, 1.0), "shot {}: bar {bar:?}, failed {failed}", shot.index);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judged_round_has_a_contact_sheet_of_its_shots_beside_their_photos() {
    init_logs();
    let data = tempfile::tempdir().unwrap();
    let mut e = Embedded::open_for_runner(data.path(), &small_config()).await.unwrap();
    // Shot 1 shows another product in round 1 (whatever the rounds after it make of the reel).
    Misrepresenting::install(&mut e.ports, 1, 1, OTHER);
    let report = drain_store(&e, &sample_store(), Some(&[PRODUCT])).await;
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let reels = e.ports.state.list_reels().await.unwrap();
    let reel = reels.into_iter().next().unwrap();
    let verdicts = e.ports.state.verdicts(&reel.id).await.unwrap();

    // Round 1, from its thumbnails: shot 1 red, the others as judged.
    let mut first = reel.clone();
    first.round = 1;
    first.video = Some(BlobKey::reel_video(&reel.id, 1));
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let key = store_contact_sheet(&e.ports, &first, &verdicts, dir.path()).await.unwrap();
    let took = started.elapsed();
    assert_eq!(key, BlobKey::reel_contact_sheet(&reel.id, 1));
    let (img, layout) = sheet(&e, &key, &first);
    let bytes = e.ports.blobs.head(&key).await.unwrap().unwrap();
    assert_eq!(bytes.content_type.as_deref(), Some("image/png"));
    eprintln!(
        "contact sheet of {} shots: {}x{}, {} bytes, drawn in {took:?}",
        reel.plan.shots.len(),
        img.width(),
        img.height(),
        bytes.bytes
    );
    let round_1: Vec<&Verdict> = verdicts.iter().filter(|v| v.round == 1).collect();
    assert!(round_1.iter().flat_map(|v| &v.checks).any(|c| c.shot == Some(1) && !c.passed));
    assert_bars(&img, &layout, &first, &round_1);
    assert!(near(mean(&img, layout.bar(1)), colour(FAIL_COLOUR), 1.0));

    // Each row starts with its shot's photo as people see it, fitted in its box.
    let references = e.ports.state.references(&reel.product).await.unwrap();
    for shot in &reel.plan.shots {
        let r = references.iter().find(|r| r.sha256 == shot.reference).unwrap();
        let raw = e.ports.blobs.get(&r.blob).await.unwrap();
        let upright = truereel::media::photo::decode_upright(&raw).unwrap().image;
        let fitted = truereel::media::photo::on_white(upright.thumbnail(TILE_HEIGHT, TILE_HEIGHT));
        let (w, h) = fitted.dimensions();
        let want = mean(&fitted, (0, 0, w, h));
        let (px, py, pw, ph) = layout.photo(shot.index as usize);
        let got = mean(&img, (px + (pw - w) / 2, py + (ph - h) / 2, w, h));
        assert!(near(got, want, 3.0), "shot {}: photo tile {got:?}, photo {want:?}", shot.index);
    }

    // The latest round with one more judge whose reason is hostile text: drawn, red where it failed;
    // drawn again (a redelivery) over the same key, byte for byte.
    let hostile = Check {
        name: "product_match".into(),
        passed: false,
        score: 0.25,
        detail: "shot 1: it's \"not\" the 'product': 100% off; [x],y:z \\ \\\\ %{pts} %% $HOME `id`\nsecond line\r\tend \u{202e}reversed"
            .into(),
        shot: Some(0),
        measure: None,
    };
    let mut all = verdicts.clone();
    all.push(Verdict::from_checks(reel.id.clone(), reel.round, "a 'judge': \"quoted\" 50%", vec![hostile]));
    let key = store_contact_sheet(&e.ports, &reel, &all, dir.path()).await.unwrap();
    assert_eq!(key, BlobKey::reel_contact_sheet(&reel.id, reel.round));
    let (img, layout) = sheet(&e, &key, &reel);
    let latest: Vec<&Verdict> = all.iter().filter(|v| v.round == reel.round).collect();
    assert_bars(&img, &layout, &reel, &latest);
    assert!(near(mean(&img, layout.bar(0)), colour(FAIL_COLOUR), 1.0));
    let (bx, by, _, bh) = layout.badge();
    assert!(near(mean(&img, (bx, by, 6, bh)), colour(FAIL_COLOUR), 1.0), "the header says fail");
    let once = e.ports.blobs.get(&key).await.unwrap();
    store_contact_sheet(&e.ports, &reel, &all, dir.path()).await.unwrap();
    assert!(e.ports.blobs.get(&key).await.unwrap() == once, "a redelivery draws the same sheet");

    // A round without thumbnails (an older reel) is drawn from its video.
    let thumbnails = e.ports.blobs.local_path(&BlobKey::reel_thumbnails(&reel.id, reel.round)).unwrap();
    std::fs::remove_file(thumbnails).unwrap();
    let key = store_contact_sheet(&e.ports, &reel, &verdicts, dir.path()).await.unwrap();
    let (img, layout) = sheet(&e, &key, &reel);
    let latest: Vec<&Verdict> = verdicts.iter().filter(|v| v.round == reel.round).collect();
    assert_bars(&img, &layout, &reel, &latest);
    // Its frames are the reel's, not blank.
    let (fx, fy, fw, fh) = layout.frame(0, 2);
    let frame = mean(&img, (fx, fy, fw, fh));
    assert!(!near(frame, [255.0; 3], 10.0), "{frame:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "work files are cleaned up");
}
