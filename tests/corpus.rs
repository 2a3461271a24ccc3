//! The judge's corpus: clips made with ffmpeg from a store folder's own photos, faithful ones
//! (camera moves of several kinds, a gentle exposure change) and misrepresenting ones of every kind
//! the judge must refuse. The suite builds it from the sample store; `cargo bench -p
//! truereel-tests --bench judge -- STORE` builds it from any store folder (`../shared/fixtures`)
//! and prints the judge's confusion table. Beside the clips it writes `labels.csv` (with the
//! photos it names under `photos/`), so the folder is one `truereel calibrate` reads.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a corpus clip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    PushIn,
    PullOut,
    Pan,
    Tilt,
    Exposure,
    Recoloured,
    OtherProduct,
    Mirrored,
    Stretched,
    Blurred,
    BlackStretch,
    FrozenThenJump,
    CutToOther,
    PrintWiped,
    Warped,
}

impl Kind {
    pub const FAITHFUL: [Kind; 5] = [Kind::PushIn, Kind::PullOut, Kind::Pan, Kind::Tilt, Kind::Exposure];
    pub const BAD: [Kind; 10] = [
        Kind::Recoloured,
        Kind::OtherProduct,
        Kind::Mirrored,
        Kind::Stretched,
        Kind::Blurred,
        Kind::BlackStretch,
        Kind::FrozenThenJump,
        Kind::CutToOther,
        Kind::PrintWiped,
        Kind::Warped,
    ];

    pub fn faithful(self) -> bool {
        Self::FAITHFUL.contains(&self)
    }

    /// The checks made to catch this kind of misrepresentation (one of them must fail it).
    pub fn caught_by(self) -> &'static [&'static str] {
        match self {
            Kind::PushIn | Kind::PullOut | Kind::Pan | Kind::Tilt | Kind::Exposure => &[],
            Kind::Recoloured => &["colour"],
            Kind::OtherProduct => &["structure", "product_match"],
            Kind::Mirrored => &["mirrored"],
            // Stretched past lining up at all (a plain dress), it fails structure instead.
            Kind::Stretched => &["proportions", "structure"],
            Kind::Blurred => &["sharpness"],
            Kind::BlackStretch | Kind::FrozenThenJump => &["frames"],
            Kind::CutToOther => &["frames", "structure"],
            Kind::PrintWiped => &["detail"],
            Kind::Warped => &["warping"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::PushIn => "push-in",
            Kind::PullOut => "pull-out",
            Kind::Pan => "pan",
            Kind::Tilt => "tilt",
            Kind::Exposure => "exposure change",
            Kind::Recoloured => "recoloured garment",
            Kind::OtherProduct => "another product",
            Kind::Mirrored => "mirrored print",
            Kind::Stretched => "stretched product",
            Kind::Blurred => "heavy blur",
            Kind::BlackStretch => "black stretch",
            Kind::FrozenThenJump => "frozen, then a jump",
            Kind::CutToOther => "cut to another product",
            Kind::PrintWiped => "print wiped away",
            Kind::Warped => "product warping",
        }
    }
}

/// One clip of the corpus and the photo it claims to show.
#[derive(Debug, Clone)]
pub struct CorpusClip {
    pub kind: Kind,
    pub product: String,
    pub path: PathBuf,
    pub reference: PathBuf,
}

/// Every product's photos in a store folder (its `products.json`, paths relative to the folder).
pub fn store_photos(store: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let text = std::fs::read_to_string(store.join("products.json")).expect("the store's products.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("products.json is JSON");
    json["products"]
        .as_array()
        .expect("a products array")
        .iter()
        .filter_map(|p| {
            let photos: Vec<PathBuf> = p["images"]
                .as_array()?
                .iter()
                .filter_map(|i| i["src"].as_str())
                .map(|s| store.join(s))
                .filter(|p| p.exists())
                .collect();
            (!photos.is_empty()).then(|| (p["handle"].as_str().unwrap_or("?").to_string(), photos))
        })
        .collect()
}

/// Builds the corpus of `store` in `out`: for each product, the faithful kinds over each of its
/// first `photos_each` photos, and every bad kind over its first photo (another product: the next
/// product's first photo). Clips are `width` x `height`, `seconds` long, 24 fps, H.264.
pub fn build(
    store: &Path,
    out: &Path,
    (width, height): (u32, u32),
    seconds: u32,
    photos_each: usize,
) -> Vec<CorpusClip> {
    std::fs::create_dir_all(out).unwrap();
    let products = store_photos(store);
    assert!(products.len() >= 2, "a corpus needs two products at least");
    let mut clips = Vec::new();
    for (i, (product, photos)) in products.iter().enumerate() {
        let other = &products[(i + 1) % products.len()].1[0];
        for (j, photo) in photos.iter().take(photos_each).enumerate() {
            let kinds: Vec<Kind> = if j == 0 {
                Kind::FAITHFUL.iter().chain(&Kind::BAD).copied().collect()
            } else {
                Kind::FAITHFUL.to_vec()
            };
            for kind in kinds {
                let path = out.join(format!("{product}-{j}-{}.mp4", kind.name().replace([' ', ','], "-")));
                render(kind, photo, other, &path, (width, height), seconds);
                clips.push(CorpusClip { kind, product: product.clone(), path, reference: photo.clone() });
            }
        }
    }
    write_labels(out, &clips);
    clips
}

/// Writes `out/labels.csv` as `truereel calibrate` reads it: each clip `good` when its kind is
/// faithful, `bad` otherwise, against the photo it claims to show (the one it was made from),
/// copied into `out/photos/` so the folder stands on its own.
pub fn write_labels(out: &Path, clips: &[CorpusClip]) {
    std::fs::create_dir_all(out.join("photos")).unwrap();
    let mut csv = String::from("clip,label,references\n");
    for c in clips {
        let photo = Path::new("photos").join(c.reference.file_name().expect("a photo file"));
        if !out.join(&photo).exists() {
            std::fs::copy(&c.reference, out.join(&photo)).unwrap();
        }
        let clip = c.path.strip_prefix(out).unwrap_or(&c.path);
        let label = if c.kind.faithful() { "good" } else { "bad" };
        csv.push_str(&format!("{},{label},{}\n", clip.display(), photo.display()));
    }
    std::fs::write(out.join("labels.csv"), csv).unwrap();
}

/// Renders one clip of `kind` from `photo` (and `other`, another product's photo).
pub fn render(kind: Kind, photo: &Path, other: &Path, out: &Path, (w, h): (u32, u32), seconds: u32) {
    let n = seconds * 24;
    let cover = format!("scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1");
    let centre = "x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'";
    let zoom = |z: &str, xy: &str, frames: u32| format!("zoompan=z='{z}':{xy}:d={frames}:s={w}x{h}:fps=24");
    let push = zoom(&format!("1+0.12*on/{n}"), centre, n);
    let (inputs, graph): (Vec<&Path>, String) = match kind {
        Kind::PushIn => (vec![photo], format!("[0]{cover},{push}")),
        Kind::PullOut => (vec![photo], format!("[0]{cover},{}", zoom(&format!("1.12-0.12*on/{n}"), centre, n))),
        Kind::Pan => (
            vec![photo],
            format!("[0]{cover},{}", zoom("1.12", &format!("x='(iw-iw/zoom)*on/{n}':y='ih/2-(ih/zoom/2)'"), n)),
        ),
        Kind::Tilt => (
            vec![photo],
            format!("[0]{cover},{}", zoom("1.12", &format!("x='iw/2-(iw/zoom/2)':y='(ih-ih/zoom)*on/{n}'"), n)),
        ),
        Kind::Exposure => (vec![photo], format!("[0]{cover},{push},eq=brightness='0.05*t/{seconds}':eval=frame")),
        Kind::Recoloured => {
            (vec![photo], format!("[0]{cover},{push},hue=h=150:s=1.6,colorchannelmixer=rr=1:gg=0.6:bb=0.6"))
        }
        Kind::OtherProduct => (vec![other], format!("[0]{cover},{push}")),
        Kind::Mirrored => (vec![photo], format!("[0]{cover},hflip,{push}")),
        Kind::Stretched => (vec![photo], format!("[0]{cover},scale=iw*3/2:ih,crop={w}:{h},{push}")),
        Kind::Blurred => (vec![photo], format!("[0]{cover},{push},gblur=sigma={}", w as f64 / 50.0)),
        Kind::BlackStretch => (
            vec![photo],
            format!("[0]{cover},{push},drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,1,1.6)'"),
        ),
        Kind::FrozenThenJump => {
            let (a, b) = (n / 3, 2 * n / 3);
            let z = format!("if(between(on,{a},{b}),1+0.3*{a}/{n},1+0.3*on/{n})");
            (vec![photo], format!("[0]{cover},{}", zoom(&z, centre, n)))
        }
        Kind::CutToOther => {
            let half = n / 2;
            let z = format!("1+0.12*on/{n}");
            (
                vec![photo, other],
                format!(
                    "[0]{cover},{}[a];[1]{cover},{}[b];[a][b]concat=n=2:v=1",
                    zoom(&z, centre, half),
                    zoom(&z, centre, n - half)
                ),
            )
        }
        Kind::PrintWiped => {
            let (pw, ph) = (w / 3, h / 5);
            let (x, y) = print_box(photo, (w, h), (pw, ph));
            (
                vec![photo],
                format!("[0]{cover},{push},split[a][b];[b]crop={pw}:{ph}:{x}:{y},boxblur=12[c];[a][c]overlay={x}:{y}"),
            )
        }
        Kind::Warped => {
            // The push-in, while the product's middle swims: a displacement wave travelling down
            // and across it, growing over the first 1.5 s to a thirtieth of the width.
            let (mw, mh, amp) = (w / 4, h / 4, w as f64 / 30.0);
            let middle = "exp(-pow((X-W/2)/(W/4)\\,2)-pow((Y-H/2)/(H/5)\\,2))";
            let map = |wave: &str| {
                format!(
                    "nullsrc=s={mw}x{mh}:r=24,format=gray,geq=lum='128+{amp:.1}*min(T/1.5\\,1)*{middle}*{wave}',\
                     scale={w}:{h}"
                )
            };
            (
                vec![photo],
                format!(
                    "[0]{cover},{push}[v];{}[xm];{}[ym];[v][xm][ym]displace=edge=smear",
                    map("sin(2*PI*(3*Y/H-0.5*T))"),
                    map("cos(2*PI*(2*X/W-0.5*T))")
                ),
            )
        }
    };
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-loglevel", "error", "-y"]);
    for i in inputs {
        c.arg("-i").arg(i);
    }
    c.args(["-filter_complex", &graph, "-frames:v", &n.to_string(), "-c:v", "libx264", "-preset", "ultrafast"]);
    c.args(["-pix_fmt", "yuv420p", "-r", "24"]).arg(out);
    let o = c.output().expect("ffmpeg runs");
    assert!(o.status.success(), "{kind:?} from {}: {}", photo.display(), String::from_utf8_lossy(&o.stderr));
}

/// Where `photo`'s print or logo is in a `w` x `h` clip of it: the `pw` x `ph` box on the garment
/// (nine tenths of it away from the backdrop's colour, so not its outline against the backdrop) with
/// the most edge energy (luma, the photo covering the frame), on a grid over the frame's middle
/// (inside the push-in's last view).
fn print_box(photo: &Path, (w, h): (u32, u32), (pw, ph): (u32, u32)) -> (u32, u32) {
    use image::imageops::{self, FilterType};
    let img = image::open(photo).unwrap_or_else(|e| panic!("{}: {e}", photo.display())).to_luma8();
    let s = (w as f64 / img.width() as f64).max(h as f64 / img.height() as f64);
    let (sw, sh) = (((img.width() as f64 * s).ceil() as u32).max(w), ((img.height() as f64 * s).ceil() as u32).max(h));
    let scaled = imageops::resize(&img, sw, sh, FilterType::Triangle);
    let frame = imageops::crop_imm(&scaled, (sw - w) / 2, (sh - h) / 2, w, h).to_image();
    let at = |x: u32, y: u32| frame.get_pixel(x, y).0[0] as i32;
    let mut border: Vec<i32> = (0..w).flat_map(|x| [at(x, 0), at(x, h - 1)]).collect();
    border.extend((0..h).flat_map(|y| [at(0, y), at(w - 1, y)]));
    border.sort_unstable();
    let backdrop = border[border.len() / 2];
    let garment = |x: u32, y: u32| (at(x, y) - backdrop).abs() > 12;
    // The box's edge energy on the garment, or nothing when it is not on the garment.
    let energy = |x0: u32, y0: u32| -> Option<i64> {
        let (mut e, mut on, mut n) = (0i64, 0, 0);
        for y in (y0..y0 + ph).step_by(2) {
            for x in (x0..x0 + pw).step_by(2) {
                n += 1;
                if garment(x, y) && garment(x + 1, y) && garment(x, y + 1) {
                    on += 1;
                    let (gx, gy) = (at(x + 1, y) - at(x, y), at(x, y + 1) - at(x, y));
                    e += (gx * gx + gy * gy) as i64;
                }
            }
        }
        (on * 10 >= n * 9).then_some(e)
    };
    let xs = (w / 8..=(w * 7 / 8).saturating_sub(pw + 1)).step_by((w / 24).max(1) as usize);
    let ys = (h / 8..=(h * 7 / 8).saturating_sub(ph + 1)).step_by((h / 40).max(1) as usize);
    let candidates: Vec<(u32, u32)> = ys.flat_map(|y| xs.clone().map(move |x| (x, y))).collect();
    (candidates.into_iter().filter_map(|(x, y)| energy(x, y).map(|e| (e, x, y))).max())
        .map_or(((w - pw) / 2, h * 2 / 5), |(_, x, y)| (x, y))
}

/// The local judge's answer on one corpus clip.
pub struct Judged {
    pub kind: Kind,
    pub accepted: bool,
    /// `product kind: the failing checks` (or, for an accepted clip, every check).
    pub said: String,
}

impl Judged {
    /// Whether the judge got it wrong (refused a faithful clip or accepted a bad one).
    pub fn wrong(&self) -> bool {
        self.accepted != self.kind.faithful()
    }
}

/// Judges every clip against its photo with the code `truereel judge` runs.
pub async fn judge(clips: &[CorpusClip]) -> Vec<Judged> {
    use truereel::adapters::providers::judge::clip::judge_clip;
    let media = std::sync::Arc::new(truereel::media::Media::default());
    let settings = truereel::config::Settings::default();
    let mut out = Vec::with_capacity(clips.len());
    for c in clips {
        let v = judge_clip(media.clone(), &settings, &c.path, std::slice::from_ref(&c.reference), false)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.path.display()));
        let shown: Vec<String> = match v.passed {
            true => v.checks.iter().map(|c| format!("{}: {}", c.name, c.detail)).collect(),
            false => truereel::ports::Check::reasons(&v.checks),
        };
        out.push(Judged { kind: c.kind, accepted: v.passed, said: format!("{} {:?}: {shown:?}", c.product, c.kind) });
    }
    out
}

/// The judge's answers over a corpus: per kind, how many clips were accepted of how many.
pub fn confusion(judged: &[Judged]) -> String {
    let results: Vec<(Kind, bool)> = judged.iter().map(|j| (j.kind, j.accepted)).collect();
    let mut kinds: Vec<Kind> = results.iter().map(|(k, _)| *k).collect();
    kinds.sort();
    kinds.dedup();
    let mut out = String::from("| clip | faithful? | accepted | rejected |\n|---|---|---|---|\n");
    for k in kinds {
        let of: Vec<bool> = results.iter().filter(|(x, _)| *x == k).map(|(_, a)| *a).collect();
        let accepted = of.iter().filter(|a| **a).count();
        out.push_str(&format!(
            "| {} | {} | {accepted} | {} |\n",
            k.name(),
            if k.faithful() { "yes" } else { "no" },
            of.len() - accepted
        ));
    }
    let faithful: Vec<bool> = results.iter().filter(|(k, _)| k.faithful()).map(|(_, a)| *a).collect();
    let bad: Vec<bool> = results.iter().filter(|(k, _)| !k.faithful()).map(|(_, a)| *a).collect();
    out.push_str(&format!(
        "| **all faithful** | yes | {} | {} |\n| **all misrepresenting** | no | {} | {} |\n",
        faithful.iter().filter(|a| **a).count(),
        faithful.iter().filter(|a| !**a).count(),
        bad.iter().filter(|a| **a).count(),
        bad.iter().filter(|a| !**a).count(),
    ));
    out
}
