//! Photo intake: untrusted bytes in, a checked, decoded photo out (blocking; run it off the async runtime).
//!
//! The type comes from the magic bytes only, never from a file name or a Content-Type. The
//! header's dimensions and decoded size are checked before anything is decoded, so a decompression
//! bomb is refused without allocating it; the full decode runs under [`image::Limits`], and all
//! decodes in the process together hold at most [`DECODE_BUDGET`] bytes (one waits for another to
//! finish). JPEGs are decoded strictly: scan data that runs out (a truncated file, with or without an
//! end marker appended, or a header claiming more rows than there are) is an error, not grey padding.
//!
//! A photo that passes is measured once, on one working copy at most [`subject::WORK_SIDE`] pixels a
//! side (the one [`crate::media::subject`] works on): its framing ([`crate::media::analyse`]) and its
//! [`sharpness`].

use crate::media::subject;
use crate::{Framing, PhotoPrint, Sha256};
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};
use std::fmt;
use std::io::Cursor;
use std::sync::{Arc, Condvar, Mutex};

/// What a reference photo may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest file accepted.
    pub max_bytes: u64,
    /// Largest width × height accepted.
    pub max_pixels: u64,
    /// Longest side accepted, in pixels.
    pub max_side: u32,
    /// Shortest side accepted, in pixels.
    pub min_side: u32,
    /// Largest decoded size accepted, in bytes (width × height × channels × bytes per channel).
    pub max_decoded_bytes: u64,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 40 * 1024 * 1024,
            max_pixels: 60_000_000,
            max_side: 12_000,
            min_side: 64,
            max_decoded_bytes: DECODE_BUDGET,
        }
    }
}

/// Bytes of decoded pixels the whole process holds at once (100 MB: a 33-megapixel 8-bit RGB photo, or
/// three 10-megapixel ones); also the largest one photo may take. Sized so a crawl stays under 200 MB
/// whatever its photos (measured in `cli/tests/crawl_memory.rs`).
pub const DECODE_BUDGET: u64 = 100_000_000;

/// Decoded bytes held now, against [`DECODE_BUDGET`].
static DECODING: DecodeBudget = DecodeBudget::new(DECODE_BUDGET);

/// A count of decoded bytes in memory, with a wait for room.
struct DecodeBudget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

impl DecodeBudget {
    const fn new(total: u64) -> Self {
        Self { total, used: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits (blocking) until `bytes` fit, then holds them until the grant is dropped.
    fn take(&'static self, bytes: u64) -> DecodeGrant {
        let bytes = bytes.min(self.total);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        DecodeGrant { budget: self, bytes }
    }
}

/// Decoded bytes held until dropped (with the photo's pixels).
struct DecodeGrant {
    budget: &'static DecodeBudget,
    bytes: u64,
}

impl Drop for DecodeGrant {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// A photo that passed intake.
#[derive(Clone)]
pub struct Photo {
    /// Its share of [`DECODE_BUDGET`], given back when the last clone is dropped.
    _grant: Option<Arc<DecodeGrant>>,
    /// SHA-256 of the bytes as received (the content address).
    pub sha256: Sha256,
    /// `image/jpeg`, `image/png` or `image/webp`, from the magic bytes.
    pub mime: &'static str,
    /// `jpg`, `png` or `webp`.
    pub ext: &'static str,
    /// Upright width (after the EXIF orientation is applied).
    pub width: u32,
    /// Upright height.
    pub height: u32,
    /// Size of the file.
    pub bytes: u64,
    /// What it looks like, to tell renditions of one photo (see [`PhotoPrint`]).
    pub print: PhotoPrint,
    /// Its backdrop and where the product sits ([`crate::media::analyse`]).
    pub framing: Framing,
    /// 0..1: how sharp it is ([`sharpness`]).
    pub sharpness: f32,
    /// The decoded pixels, upright.
    pub image: DynamicImage,
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("sha256", &self.sha256)
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes)
            .field("framing", &self.framing)
            .field("sharpness", &self.sharpness)
            .finish_non_exhaustive()
    }
}

/// Why a file is not a usable photo; each message is meant for the store owner.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("not a JPEG, PNG or WebP image: the bytes look like {detected}")]
    NotAnImage { detected: String },
    #[error("the file is {} bytes, over the {} byte limit", .bytes, .max)]
    TooManyBytes { bytes: u64, max: u64 },
    #[error("{width}x{height} is larger than the {limit} limit")]
    TooLarge { width: u32, height: u32, limit: String },
    #[error("{width}x{height} would take {need_mb} MB decoded ({layout}), over the {max_mb} MB limit")]
    TooMuchMemory { width: u32, height: u32, layout: String, need_mb: u64, max_mb: u64 },
    #[error("{width}x{height} is smaller than the {min} px minimum side")]
    TooSmall { width: u32, height: u32, min: u32 },
    #[error("{reason}")]
    Corrupt { reason: String },
}

/// The formats intake accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
    WebP,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "JPEG",
            Kind::Png => "PNG",
            Kind::WebP => "WebP",
        }
    }
    fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::WebP => "image/webp",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::WebP => "webp",
        }
    }
    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// What a photo looks like, in 80 bytes: a 256-bit difference hash of its 17x16 grey thumbnail (one
/// bit per horizontal neighbour pair: is the left one brighter?) and its 4x4 colour thumbnail.
pub fn photo_print(image: &DynamicImage) -> PhotoPrint {
    use image::imageops::FilterType::Triangle;
    // One cheap area-averaged thumbnail first: resampling the full photo twice costs ~6 ms a megapixel.
    let small = image.thumbnail(64, 64);
    let grey = small.resize_exact(17, 16, Triangle).to_luma8();
    let mut dhash = [0u64; 4];
    for y in 0..16u32 {
        for x in 0..16u32 {
            let bit = y * 16 + x;
            let brighter = grey.get_pixel(x, y)[0] > grey.get_pixel(x + 1, y)[0];
            dhash[(bit / 64) as usize] |= u64::from(brighter) << (bit % 64);
        }
    }
    PhotoPrint { dhash, colours: small.resize_exact(4, 4, Triangle).to_rgb8().into_raw() }
}

/// Checks and decodes one photo.
pub fn inspect(bytes: &[u8], limits: &PhotoLimits) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(PhotoError::TooManyBytes { bytes: size, max: limits.max_bytes });
    }
    let kind = sniff(bytes).map_err(|detected| PhotoError::NotAnImage { detected })?;

    // Header only: no pixel buffer is allocated here.
    let (w, h) = ImageReader::with_format(Cursor::new(bytes), kind.format())
        .into_dimensions()
        .map_err(|e| corrupt(kind, bytes, &e))?;
    check_dimensions(w, h, limits)?;
    if kind == Kind::Jpeg && !jpeg_has_end(bytes) {
        return Err(PhotoError::Corrupt {
            reason: "truncated JPEG: the file ends inside the image data (no end-of-image marker after the last scan)"
                .into(),
        });
    }

    if kind == Kind::WebP {
        let declared = u64::from(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]])) + 8;
        if declared > size {
            return Err(PhotoError::Corrupt {
                reason: format!("truncated WebP: the file is {size} bytes but its header says {declared}"),
            });
        }
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.limits(decode_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(kind, bytes, w, h, e))?;
    let orientation = decoder.orientation().ok();
    let need = decoder.total_bytes();
    if need > limits.max_decoded_bytes {
        let layout = layout(decoder.color_type());
        let mb = |b: u64| (b as f64 / 1e6).round() as u64;
        return Err(PhotoError::TooMuchMemory {
            width: w,
            height: h,
            layout,
            need_mb: mb(need),
            max_mb: mb(limits.max_decoded_bytes),
        });
    }
    let grant = DECODING.take(need);
    let mut image = if kind == Kind::Jpeg {
        drop(decoder);
        decode_jpeg_strictly(bytes, w, h)?
    } else {
        DynamicImage::from_decoder(decoder).map_err(|e| decode_error(kind, bytes, w, h, e))?
    };
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    let (width, height) = (image.width(), image.height());
    tracing::debug!(mime = kind.mime(), width, height, bytes = size, "Photo passed intake.");
    let print = photo_print(&image);
    let (framing, sharpness) = measure(&image);
    Ok(Photo {
        _grant: Some(Arc::new(grant)),
        sha256: Sha256::of(bytes),
        mime: kind.mime(),
        ext: kind.ext(),
        width,
        height,
        bytes: size,
        print,
        framing,
        sharpness,
        image,
    })
}

/// The photo's framing and sharpness, both from one working copy (one pass over the full photo).
///
/// [`crate::media::analyse`] makes its own working copy of what it is given; given a working copy, that
/// copy is the same pixels (a `thumbnail` to the size an image already has copies it), so the framing is
/// the one `analyse` finds on the full photo (`framing_from_the_working_copy_is_the_photos_framing`).
pub fn measure(image: &DynamicImage) -> (Framing, f32) {
    let work = DynamicImage::ImageRgb8(subject::working_copy(image));
    let framing = crate::media::analyse(&work);
    let sharp = work.as_rgb8().map_or(0.0, |rgb| sharpness(rgb, &framing));
    (framing, sharp)
}

/// Edge energy below this (mean squared grey-level gradient per pixel) is no detail at all: an even frame.
const MIN_GRADIENT_ENERGY: f64 = 0.5;
/// The ratio of Laplacian to gradient energy that scores 0.5 ([`sharpness`]).
pub const SHARPNESS_HALF: f64 = 2.0;

/// How sharp a photo is, 0..1, measured on its grey working copy (luma, at most [`subject::WORK_SIDE`] a side),
/// inside the product's box when it stands on a backdrop (else the whole frame).
///
/// The measure is the energy of the Laplacian (`4p - up - down - left - right`) over the energy of the
/// gradient (central differences), `r = Σ L² / Σ |∇|²`: blur takes the finest detail first, so it
/// lowers the second derivative faster than the first. Unlike the plain variance of the Laplacian it
/// does not grow with contrast, so a white lace dress and a dark knit are on one scale. The score is
/// `r / (r + SHARPNESS_HALF)`. Anchors: an ideal one-pixel step edge has r = 4 (0.67); uncorrelated
/// noise r = 20 (0.91); a smooth ramp r → 0. Measured on the sample store (`examples/store/photos`, test
/// `sharpness_of_the_sample_photos_and_their_blurred_copies`): the photos as shipped r = 2.7–7.5
/// (0.58–0.79); Gaussian-blurred by σ = 2 px at full size r = 1.3–3.7 (0.40–0.65), by σ = 4 px r = 0.4–1.2
/// (0.18–0.37). Each photo's blurred copy scores below it; across different photos the scale overlaps,
/// as any no-reference measure does (a plain subject has less fine detail to lose). A frame with almost
/// no edges (mean squared gradient under 0.5 grey levels²) scores 0.
pub fn sharpness(work: &RgbImage, framing: &Framing) -> f32 {
    let (w, h) = (work.width() as usize, work.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let grey: Vec<f32> = work.pixels().map(|p| subject::luma(p.0.map(f32::from))).collect();
    let b = if framing.uniform_background { framing.subject } else { crate::SubjectBox::WHOLE };
    let span = |from: f64, to: f64, n: usize| {
        let lo = ((from * n as f64).floor() as usize).clamp(1, n - 2);
        let hi = ((to * n as f64).ceil() as usize).clamp(lo + 1, n - 1);
        lo..hi
    };
    let (xs, ys) = (span(b.x0, b.x1, w), span(b.y0, b.y1, h));
    let (mut laplacian, mut gradient, mut n) = (0.0f64, 0.0f64, 0usize);
    for y in ys {
        for x in xs.clone() {
            let i = y * w + x;
            let (c, l, r, u, d) = (grey[i], grey[i - 1], grey[i + 1], grey[i - w], grey[i + w]);
            let lap = f64::from(4.0 * c - l - r - u - d);
            let (gx, gy) = (f64::from(r - l) / 2.0, f64::from(d - u) / 2.0);
            laplacian += lap * lap;
            gradient += gx * gx + gy * gy;
            n += 1;
        }
    }
    if n == 0 || gradient / (n as f64) < MIN_GRADIENT_ENERGY {
        return 0.0;
    }
    let ratio = laplacian / gradient;
    (ratio / (ratio + SHARPNESS_HALF)) as f32
}

/// "16-bit RGBA", "8-bit RGB", …
fn layout(color: image::ColorType) -> String {
    let channels = match color.channel_count() {
        1 => "grey",
        2 => "grey and alpha",
        3 => "RGB",
        _ => "RGBA",
    };
    let bits = u32::from(color.bits_per_pixel()) / u32::from(color.channel_count().max(1));
    format!("{bits}-bit {channels}")
}

/// A JPEG's pixels as decoded: RGB, or grey for a grey JPEG.
struct Decoded {
    pixels: Vec<u8>,
    grey: bool,
    size: (u32, u32),
}

/// A JPEG decoded in strict mode (data that breaks off is an error), then checked for scan data that
/// ran out: a decoder that meets the end-of-image marker before its last block decodes the rest from
/// zero bits, without an error, into grey or smeared rows. So the photo is decoded a second time with
/// filler bytes put before its end marker: a complete JPEG never reads them and comes out the same; one
/// whose data ran out (cut, with an end marker appended, or a header naming more rows than there are)
/// decodes the filler into different pixels. The filled copy is decoded first and kept only as a hash, so
/// one decoded copy is held at a time.
fn decode_jpeg_strictly(bytes: &[u8], w: u32, h: u32) -> Result<DynamicImage, PhotoError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    let damaged = |e: &dyn fmt::Display| PhotoError::Corrupt { reason: format!("damaged JPEG: {e}") };
    let decode = |bytes: &[u8], strict: bool| -> Result<Decoded, PhotoError> {
        use zune_jpeg::zune_core::bytestream::ZCursor;
        use zune_jpeg::zune_core::options::DecoderOptions;
        let options =
            DecoderOptions::default().set_strict_mode(strict).set_max_width(w as usize).set_max_height(h as usize);
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
        decoder.decode_headers().map_err(|e| damaged(&e))?;
        let grey = matches!(decoder.input_colorspace(), Some(ColorSpace::Luma | ColorSpace::LumaA));
        let out = if grey { ColorSpace::Luma } else { ColorSpace::RGB };
        decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
        let pixels = decoder.decode().map_err(|e| damaged(&e))?;
        let (dw, dh) = decoder.dimensions().map(|(a, b)| (a as u32, b as u32)).unwrap_or((w, h));
        Ok(Decoded { pixels, grey, size: (dw, dh) })
    };
    // One decoded copy at a time: the filled one is only kept as a hash.
    let digest = |pixels: &[u8]| {
        use std::hash::Hasher;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(pixels);
        h.finish()
    };
    let filled_digest = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]).map(|eoi| {
        let mut filled = Vec::with_capacity(bytes.len() + 64);
        filled.extend_from_slice(&bytes[..eoi]);
        filled.extend_from_slice(&[0x55; 64]);
        filled.extend_from_slice(&bytes[eoi..]);
        decode(&filled, false).map(|d| digest(&d.pixels)).ok()
    });
    let Decoded { pixels, grey, size: (dw, dh) } = decode(bytes, true)?;
    if let Some(filled) = filled_digest
        && filled != Some(digest(&pixels))
    {
        return Err(PhotoError::Corrupt {
            reason: "truncated JPEG: its image data runs out before the last blocks (cut data, or a header \
                     naming more rows than there are)"
                .into(),
        });
    }
    let image = if grey {
        image::GrayImage::from_raw(dw, dh, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(dw, dh, pixels).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| damaged(&"the decoder returned fewer pixels than the header names"))
}

fn check_dimensions(w: u32, h: u32, limits: &PhotoLimits) -> Result<(), PhotoError> {
    if w > limits.max_side || h > limits.max_side {
        return Err(PhotoError::TooLarge { width: w, height: h, limit: format!("{} px", limits.max_side) });
    }
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        let mp = limits.max_pixels as f64 / 1e6;
        return Err(PhotoError::TooLarge { width: w, height: h, limit: format!("{mp} megapixel") });
    }
    if w < limits.min_side || h < limits.min_side {
        return Err(PhotoError::TooSmall { width: w, height: h, min: limits.min_side });
    }
    Ok(())
}

/// Decoder limits: no side over the limit, and allocations bounded by the decoded-size limit.
fn decode_limits(limits: &PhotoLimits) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    // A little over the decoded size, for the decoder's own buffers.
    l.max_alloc = Some(limits.max_decoded_bytes.saturating_add(limits.max_decoded_bytes / 4));
    l
}

fn decode_error(kind: Kind, bytes: &[u8], w: u32, h: u32, e: ImageError) -> PhotoError {
    match e {
        ImageError::Limits(l) => PhotoError::TooLarge { width: w, height: h, limit: format!("decoder memory ({l})") },
        e => corrupt(kind, bytes, &e),
    }
}

fn corrupt(kind: Kind, bytes: &[u8], e: &ImageError) -> PhotoError {
    let truncated = matches!(e, ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof)
        || e.to_string().to_ascii_lowercase().contains("eof")
        || (kind == Kind::Png && !bytes.windows(4).any(|w| w == b"IEND"));
    let what = if truncated { "truncated" } else { "corrupt" };
    PhotoError::Corrupt { reason: format!("{what} {}: {e}", kind.name()) }
}

/// Whether a JPEG has an end-of-image marker after its last start-of-scan. Inside entropy-coded
/// data a 0xFF byte is always stuffed (`FF 00`), so `FF D9` there can only be the real marker; a
/// thumbnail's EOI in the EXIF block comes before the main image's scans.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    match (last_sos, last_eoi) {
        (Some(s), Some(e)) => e > s,
        (None, _) => true, // no scan at all: the decoder reports what is wrong
        (Some(_), None) => false,
    }
}

/// The accepted kind, or a description of what the bytes look like.
fn sniff(b: &[u8]) -> Result<Kind, String> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if b.starts_with(PNG_MAGIC) {
        return Ok(Kind::Png);
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Ok(Kind::WebP);
    }
    Err(describe(b))
}

/// A short, human description of non-image bytes.
fn describe(b: &[u8]) -> String {
    let starts = |p: &[u8]| b.starts_with(p);
    let unsupported = |name: &str| format!("{name} (unsupported)");
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return unsupported("GIF");
    }
    if starts(b"%PDF") {
        return "PDF".into();
    }
    if starts(b"BM") && b.len() > 14 {
        return unsupported("BMP");
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return unsupported("TIFF");
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return match &b[8..12] {
            b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1" => unsupported("HEIC"),
            b"avif" | b"avis" => unsupported("AVIF"),
            _ => "MP4/QuickTime video".into(),
        };
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" {
        return format!("RIFF {} (not WebP)", String::from_utf8_lossy(&b[8..12]));
    }
    if starts(b"PK\x03\x04") {
        return "a ZIP archive".into();
    }
    if starts(&[0x1F, 0x8B]) {
        return "gzip data".into();
    }
    if starts(b"\0\0\0\x0cjP  ") || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return unsupported("JPEG 2000");
    }
    // Text formats: skip a UTF-8 BOM and leading whitespace.
    let text = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    let text = &text[text.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(text.len())..];
    let head = String::from_utf8_lossy(&text[..text.len().min(512)]).to_ascii_lowercase();
    if head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<head")
        || head.contains("<body")
    {
        return "HTML text".into();
    }
    if head.starts_with("<svg") || (head.starts_with("<?xml") && head.contains("<svg")) {
        return unsupported("SVG");
    }
    if head.starts_with("<?xml") {
        return "XML text".into();
    }
    if head.starts_with('{') || head.starts_with('[') {
        return "JSON text".into();
    }
    let sample = &b[..b.len().min(512)];
    if std::str::from_utf8(sample).is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace())) {
        return "plain text".into();
    }
    let hex: Vec<String> = b.iter().take(4).map(|x| format!("{x:02x}")).collect();
    format!("unknown bytes {}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn picture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, ((x ^ y) & 0xFF) as u8]))
    }

    fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        encode(&picture(w, h), ImageFormat::Jpeg)
    }

    /// A PNG chunk with its CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// A PNG that claims `w`x`h` RGBA pixels but carries only a few bytes of data.
    fn png_bomb(w: u32, h: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, adaptive filter, no interlace
        let mut png = PNG_MAGIC.to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        // A stored zlib stream of one zero byte: nowhere near enough data, never decoded anyway.
        png.extend(chunk(b"IDAT", &[0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01]));
        png.extend(chunk(b"IEND", &[]));
        png
    }

    #[test]
    fn crc32_matches_the_png_iend_crc() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn accepts_jpeg_png_and_webp_by_their_magic_bytes() {
        let img = picture(120, 80);
        for (format, mime, ext) in [
            (ImageFormat::Jpeg, "image/jpeg", "jpg"),
            (ImageFormat::Png, "image/png", "png"),
            (ImageFormat::WebP, "image/webp", "webp"),
        ] {
            let bytes = encode(&img, format);
            let photo = inspect(&bytes, &PhotoLimits::default()).unwrap_or_else(|e| panic!("{mime}: {e}"));
            assert_eq!((photo.mime, photo.ext), (mime, ext));
            assert_eq!((photo.width, photo.height), (120, 80));
            assert_eq!((photo.image.width(), photo.image.height()), (120, 80));
            assert_eq!(photo.bytes, bytes.len() as u64);
            assert_eq!(photo.sha256, Sha256::of(&bytes));
        }
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert!(matches!(inspect(&[], &PhotoLimits::default()), Err(PhotoError::Empty)));
    }

    #[test]
    fn an_html_page_is_named_as_html() {
        let page = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>";
        let err = inspect(page, &PhotoLimits::default()).unwrap_err();
        match &err {
            PhotoError::NotAnImage { detected } => assert_eq!(detected, "HTML text"),
            other => panic!("expected NotAnImage, got {other:?}"),
        }
        assert!(err.to_string().contains("HTML text"), "{err}");
    }

    #[test]
    fn other_formats_are_described() {
        let cases: [(&[u8], &str); 6] = [
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
            (b"GIF89a\x10\x00\x10\x00\x80\x00\x00", "GIF (unsupported)"),
            (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC (unsupported)"),
            (b"RIFF\x24\x00\x00\x00WAVEfmt ", "RIFF WAVE (not WebP)"),
            (b"{\"error\":\"not found\"}", "JSON text"),
            (&[0x00, 0x01, 0x02, 0x03, 0xF0, 0xF1], "unknown bytes 00 01 02 03"),
        ];
        for (bytes, want) in cases {
            match inspect(bytes, &PhotoLimits::default()) {
                Err(PhotoError::NotAnImage { detected }) => assert_eq!(detected, want),
                other => panic!("{want}: got {other:?}"),
            }
        }
    }

    #[test]
    fn the_extension_does_not_matter_only_the_bytes() {
        // A PNG whose bytes start like a PNG is a PNG, whatever anyone called it.
        let bytes = encode(&picture(64, 64), ImageFormat::Png);
        assert_eq!(inspect(&bytes, &PhotoLimits::default()).unwrap().mime, "image/png");
        // And JPEG-looking text after a few junk bytes is not a JPEG.
        let mut shifted = vec![b' '];
        shifted.extend(jpeg(64, 64));
        assert!(matches!(inspect(&shifted, &PhotoLimits::default()), Err(PhotoError::NotAnImage { .. })));
    }

    #[test]
    fn a_truncated_jpeg_is_corrupt() {
        let full = jpeg(256, 256);
        let cut = &full[..full.len() * 2 / 3];
        let err = inspect(cut, &PhotoLimits::default()).unwrap_err();
        match &err {
            PhotoError::Corrupt { reason } => assert!(reason.starts_with("truncated JPEG"), "{reason}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_jpeg_cut_inside_its_header_is_corrupt() {
        let full = jpeg(256, 256);
        let err = inspect(&full[..40], &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn a_truncated_png_and_webp_are_corrupt() {
        for format in [ImageFormat::Png, ImageFormat::WebP] {
            let full = encode(&picture(200, 200), format);
            let cut = &full[..full.len() / 2];
            match inspect(cut, &PhotoLimits::default()) {
                Err(PhotoError::Corrupt { reason }) => assert!(reason.contains("truncated"), "{format:?}: {reason}"),
                other => panic!("{format:?}: expected Corrupt, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_30000_px_png_is_refused_before_decoding() {
        let bomb = png_bomb(30_000, 30_000);
        assert!(bomb.len() < 100, "the bomb is tiny: {} bytes", bomb.len());
        // The header is valid: the image crate reads its dimensions.
        assert_eq!(
            ImageReader::with_format(Cursor::new(&bomb), ImageFormat::Png).into_dimensions().unwrap(),
            (30_000, 30_000)
        );
        let err = inspect(&bomb, &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::TooLarge { width: 30_000, height: 30_000, .. }), "{err:?}");
        assert_eq!(err.to_string(), "30000x30000 is larger than the 12000 px limit");
    }

    #[test]
    fn too_many_pixels_within_the_side_limit_is_refused() {
        let bomb = png_bomb(10_000, 10_000);
        let err = inspect(&bomb, &PhotoLimits::default()).unwrap_err();
        assert_eq!(err.to_string(), "10000x10000 is larger than the 60 megapixel limit");
    }

    #[test]
    fn a_bomb_within_the_limits_fails_to_decode_instead_of_hanging() {
        // 4000x4000 passes the size checks, but its data is missing: a corrupt PNG.
        let bomb = png_bomb(4_000, 4_000);
        assert!(matches!(inspect(&bomb, &PhotoLimits::default()), Err(PhotoError::Corrupt { .. })));
    }

    #[test]
    fn a_truncated_jpeg_with_an_end_marker_appended_is_corrupt() {
        let full = jpeg(256, 256);
        let mut cut = full[..full.len() * 2 / 3].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        match inspect(&cut, &PhotoLimits::default()) {
            Err(PhotoError::Corrupt { reason }) => assert!(reason.contains("JPEG"), "{reason}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_cut_progressive_jpeg_with_an_end_marker_appended_is_corrupt() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos/tee-grey-front-flat.jpg");
        let full = std::fs::read(path).unwrap();
        assert!(inspect(&full, &PhotoLimits::default()).is_ok(), "the whole photo passes");
        for share in [2, 3] {
            let mut cut = full[..full.len() * share / 4].to_vec();
            cut.extend_from_slice(&[0xFF, 0xD9]);
            match inspect(&cut, &PhotoLimits::default()) {
                Err(PhotoError::Corrupt { reason }) => assert!(reason.contains("JPEG"), "{reason}"),
                other => panic!("cut at {share}/4: expected Corrupt, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_jpeg_whose_header_claims_more_rows_than_its_data_is_corrupt() {
        let mut tall = jpeg(256, 256);
        // SOF0: FF C0, length (2 bytes), precision (1), height (2), width (2).
        let sof = tall.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        tall[sof + 5..sof + 7].copy_from_slice(&512u16.to_be_bytes());
        match inspect(&tall, &PhotoLimits::default()) {
            Err(PhotoError::Corrupt { reason }) => assert!(reason.contains("JPEG"), "{reason}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // The intact one passes.
        assert!(inspect(&jpeg(256, 256), &PhotoLimits::default()).is_ok());
    }

    #[test]
    fn a_16_bit_png_inside_the_pixel_limits_is_not_decoded_into_480_mb() {
        let bomb = crate::testing::png::flat_rgba(7745, 7745, 16, "bomb");
        assert!(bomb.len() < 5 << 20, "{} bytes", bomb.len());
        let err = inspect(&bomb, &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::TooMuchMemory { .. }), "{err:?}");
        assert_eq!(err.to_string(), "7745x7745 would take 480 MB decoded (16-bit RGBA), over the 100 MB limit");
        // An 8-bit RGBA photo of 5,000 x 5,000 (100 MB decoded) is within it.
        let big = crate::testing::png::flat_rgba(5000, 5000, 8, "big");
        let photo = inspect(&big, &PhotoLimits::default()).unwrap();
        assert_eq!((photo.width, photo.height), (5000, 5000));
    }

    #[test]
    fn a_tiny_image_is_refused() {
        let bytes = encode(&picture(200, 40), ImageFormat::Png);
        let err = inspect(&bytes, &PhotoLimits::default()).unwrap_err();
        assert!(matches!(err, PhotoError::TooSmall { width: 200, height: 40, min: 64 }), "{err:?}");
        assert_eq!(err.to_string(), "200x40 is smaller than the 64 px minimum side");
    }

    #[test]
    fn too_many_bytes_is_refused_before_sniffing() {
        let bytes = jpeg(100, 100);
        let limits = PhotoLimits { max_bytes: 100, ..PhotoLimits::default() };
        let err = inspect(&bytes, &limits).unwrap_err();
        assert!(matches!(err, PhotoError::TooManyBytes { max: 100, .. }), "{err:?}");
    }

    #[test]
    fn exif_orientation_is_applied() {
        // A 160x80 JPEG tagged "rotate 90° clockwise" (orientation 6) is a 80x160 photo.
        let tagged = crate::media::testutil::jpeg_turned(&picture(160, 80), 6);
        let photo = inspect(&tagged, &PhotoLimits::default()).unwrap();
        assert_eq!((photo.width, photo.height), (80, 160));
    }

    /// Every sample photo against its own renditions (half, quarter and eighth size re-encoded at JPEG
    /// quality 50) and against every other sample photo: renditions match, different photos do not
    /// (among them the same hoodie in red and black, and the tee's front and back).
    #[test]
    fn a_rendition_has_nearly_the_same_print_and_another_photo_does_not() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos");
        let mut prints = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let img = image::open(&path).unwrap();
            let print = photo_print(&img);
            for scale in [2, 4, 8] {
                let small =
                    img.resize(img.width() / scale, img.height() / scale, image::imageops::FilterType::Triangle);
                let mut jpeg = Vec::new();
                let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 50);
                small.to_rgb8().write_with_encoder(encoder).unwrap();
                let rendition = photo_print(&image::load_from_memory(&jpeg).unwrap());
                assert!(print.same_photo(&rendition), "{} at 1/{scale}", path.display());
            }
            prints.push((path, print));
        }
        assert!(prints.len() >= 15);
        for (i, (a, pa)) in prints.iter().enumerate() {
            for (b, pb) in &prints[i + 1..] {
                assert!(!pa.same_photo(pb), "{} and {} are different photos", a.display(), b.display());
            }
        }
    }
    fn sample_photos() -> Vec<(String, DynamicImage)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), image::open(p).unwrap())).collect()
    }

    /// Intake measures framing on its working copy; that is the framing `analyse` finds on the photo.
    #[test]
    fn framing_from_the_working_copy_is_the_photos_framing() {
        let mut images: Vec<DynamicImage> = sample_photos().into_iter().map(|(_, i)| i).collect();
        assert!(images.len() >= 15);
        let cutout = image::RgbaImage::from_fn(700, 300, |x, y| {
            let inside = (200..500).contains(&x) && (50..250).contains(&y);
            image::Rgba(if inside { [180, 20, 40, 255] } else { [0, 0, 0, 0] })
        });
        images.push(DynamicImage::ImageRgba8(cutout));
        images.push(DynamicImage::ImageRgb8(picture(90, 70))); // scaled up to the working size
        images
            .push(DynamicImage::ImageLuma8(image::GrayImage::from_fn(300, 900, |x, _| image::Luma([(x % 256) as u8]))));
        for image in &images {
            assert_eq!(measure(image).0, crate::media::analyse(image));
        }
    }

    /// Each sample photo against a Gaussian-blurred copy of itself (σ = 2 and 4 px at full size): the
    /// blurred copies score clearly lower. Prints the scores (`--nocapture`) behind [`sharpness`]'s figures.
    #[test]
    fn sharpness_of_the_sample_photos_and_their_blurred_copies() {
        let score = |image: &DynamicImage| measure(image).1;
        for (name, image) in sample_photos() {
            let sharp = score(&image);
            let soft = score(&image.blur(2.0));
            let softer = score(&image.blur(4.0));
            eprintln!("{name:30} {sharp:.2}  σ2 {soft:.2}  σ4 {softer:.2}");
            assert!((0.55..0.85).contains(&sharp), "{name}: {sharp}");
            assert!(soft < sharp - 0.1, "{name}: {sharp} then {soft} blurred by 2 px");
            assert!(softer < 0.4 && softer < sharp - 0.25, "{name}: {sharp} then {softer} blurred by 4 px");
        }
    }

    #[test]
    fn even_and_tiny_frames_have_no_sharpness_and_do_not_panic() {
        let framing = Framing::default();
        for (w, h) in [(0, 0), (1, 1), (2, 9), (3, 3), (64, 64)] {
            let s = sharpness(&RgbImage::from_pixel(w, h, image::Rgb([200, 200, 200])), &framing);
            assert_eq!(s, 0.0, "{w}x{h}");
        }
        // An even frame with a one-pixel step edge: r = 4, so 4 / (4 + 2).
        let step = RgbImage::from_fn(64, 64, |x, _| image::Rgb(if x < 32 { [0; 3] } else { [255; 3] }));
        assert!((sharpness(&step, &framing) - 4.0 / 6.0).abs() < 1e-6);
        // A subject box at the very edge stays inside the frame.
        let edge = Framing {
            uniform_background: true,
            subject: crate::SubjectBox { x0: 0.0, y0: 0.0, x1: 1.0, y1: 0.01 },
            ..Framing::default()
        };
        assert!(sharpness(&step, &edge) > 0.6);
    }

    /// Times intake on the sample photos, and its parts: `cargo test -p truereel --lib time_intake -- --ignored
    /// --nocapture` (a debug build: our code unoptimised, dependencies at `opt-level` 1, so the figures are
    /// for comparing, not absolute).
    #[test]
    #[ignore]
    fn time_intake_on_the_sample_store() {
        let photos = sample_photos();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos");
        let bytes: Vec<Vec<u8>> = photos.iter().map(|(name, _)| std::fs::read(dir.join(name)).unwrap()).collect();
        let works: Vec<DynamicImage> =
            photos.iter().map(|(_, i)| DynamicImage::ImageRgb8(subject::working_copy(i))).collect();
        let rounds = 5;
        let time = |what: &str, f: &dyn Fn(usize)| {
            (0..bytes.len()).for_each(f); // warm up
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                (0..bytes.len()).for_each(f);
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / (rounds * bytes.len()) as f64;
            eprintln!("{what:40} {ms:6.1} ms a photo");
        };
        let limits = PhotoLimits::default();
        time("inspect (all of intake's checks)", &|i| drop(std::hint::black_box(inspect(&bytes[i], &limits))));
        time("  of inspect: framing and sharpness", &|i| {
            std::hint::black_box(measure(&photos[i].1));
        });
        time("    the working copy", &|i| drop(std::hint::black_box(subject::working_copy(&photos[i].1))));
        time("    analyse on it", &|i| {
            std::hint::black_box(crate::media::analyse(&works[i]));
        });
        time("    sharpness on it", &|i| {
            std::hint::black_box(sharpness(works[i].as_rgb8().unwrap(), &Framing::default()));
        });
        time("  of inspect: the photo print", &|i| drop(std::hint::black_box(photo_print(&photos[i].1))));
    }
}
