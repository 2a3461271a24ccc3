//! Big, flat PNGs made in a few milliseconds: all-zero pixels of any size, 8- or 16-bit RGBA, deflated by
//! hand (one literal, then 258-byte back-references), for decompression-bomb tests without committed files.

/// Bits written least significant first, as deflate packs them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let reversed = code.reverse_bits() >> (32 - len);
        self.put(u64::from(reversed), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A zlib stream of `n` zero bytes, with the fixed Huffman codes.
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits { out: vec![0x78, 0x01], acc: 0, n: 0 };
    bits.put(1, 1); // the final block
    bits.put(1, 2); // fixed codes
    let literal_zero = |b: &mut Bits| b.code(0x30, 8);
    let mut left = n;
    if left > 0 {
        literal_zero(&mut bits);
        left -= 1;
    }
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut bits);
    }
    bits.code(0, 7); // end of block (symbol 256)
    let mut out = bits.finish();
    let adler = ((n % 65_521) << 16) | 1; // a stays 1 over zeros; b adds it once per byte
    out.extend_from_slice(&(adler as u32).to_be_bytes());
    out
}

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &byte in *part {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
    }
    !crc
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    png.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A `width` x `height` RGBA PNG of transparent black at `bit_depth` 8 or 16, with `note` in a `tEXt`
/// chunk (so two calls with different notes give different files). A 7745x7745 16-bit one (480 MB
/// decoded) is about 3 MB.
pub fn flat_rgba(width: u32, height: u32, bit_depth: u8, note: &str) -> Vec<u8> {
    assert!(matches!(bit_depth, 8 | 16), "8 or 16 bits");
    let row = 1 + u64::from(width) * 4 * u64::from(bit_depth / 8);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, 6, 0, 0, 0]); // RGBA, deflate, adaptive filters, not interlaced
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"tEXt", format!("Comment\0{note}").as_bytes());
    chunk(&mut png, b"IDAT", &zlib_zeros(row * u64::from(height)));
    chunk(&mut png, b"IEND", &[]);
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_crate_decodes_it() {
        let png = flat_rgba(300, 200, 16, "a");
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (300, 200));
        assert_eq!(img.color(), image::ColorType::Rgba16);
        assert!(img.to_rgba16().pixels().all(|p| p.0 == [0; 4]));
        let img = image::load_from_memory(&flat_rgba(1000, 3, 8, "b")).unwrap();
        assert_eq!(img.color(), image::ColorType::Rgba8);
        assert_ne!(flat_rgba(10, 10, 8, "a"), flat_rgba(10, 10, 8, "b"));
    }
}
