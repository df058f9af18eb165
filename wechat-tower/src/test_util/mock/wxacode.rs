//! Mini Program codes: `wxa/getwxacode`, `wxa/getwxacodeunlimit`,
//! `cgi-bin/wxaapp/createwxaqrcode`. Like WeChat, they answer an image or a JSON error, both
//! with HTTP 200. The image is a real PNG (8-bit greyscale, `width` × `width` pixels, a pattern
//! drawn from the scene or path), built here with stored deflate blocks, Adler-32 and CRC-32, so
//! its size follows `width` as a real code's does (1280 px: about 1.6 MB). WeChat answers
//! `image/jpeg` for opaque codes; the mock always answers `image/png`.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, json_body};

/// WeChat's default width.
const DEFAULT_WIDTH: u32 = 430;

impl State {
    pub(super) fn wxacode(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let path = body
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| fail(47001))?;
        if path.len() > 1024 {
            return Err(fail(40159));
        }
        let page = path.split_once('?').map_or(path, |(page, _)| page);
        if !self.mp.is_published(page) {
            return Err(fail(41030));
        }
        let width = look(&body)?;
        Ok(png_answer(width, path.as_bytes()))
    }

    pub(super) fn wxacode_unlimit(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let scene = body
            .get("scene")
            .and_then(Value::as_str)
            .ok_or_else(|| fail(47001))?;
        if body.contains_key("scancode_time") {
            return Err(fail(85096));
        }
        if scene.is_empty() || scene.chars().count() > 32 {
            return Err(fail(40169));
        }
        if !scene
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~".contains(c))
        {
            return Err(fail(40129));
        }
        let check_path = match body.get("check_path") {
            None => true,
            Some(Value::Bool(check)) => *check,
            Some(_) => return Err(fail(47001)),
        };
        match body.get("page") {
            None => {}
            Some(Value::String(page))
                if page.starts_with('/') || (check_path && !self.mp.is_published(page)) =>
            {
                return Err(fail(41030));
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(fail(47001)),
        }
        let width = look(&body)?;
        Ok(png_answer(width, scene.as_bytes()))
    }

    pub(super) fn wxaqrcode(&self, req: &RecordedRequest) -> Outcome {
        let body = json_body(req)?;
        let path = body
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| fail(47001))?;
        if path.len() > 128 {
            return Err(fail(40159));
        }
        let width = width(&body)?;
        Ok(png_answer(width, path.as_bytes()))
    }
}

/// The width, checked: 280–1280, default 430.
fn width(body: &Map<String, Value>) -> Result<u32, Answer> {
    match body.get("width") {
        None => Ok(DEFAULT_WIDTH),
        Some(value) => match value.as_u64() {
            Some(w @ 280..=1280) => Ok(u32::try_from(w).unwrap_or(430)),
            Some(_) => Err(fail(40097)),
            None => Err(fail(47001)),
        },
    }
}

/// The look fields of a code, checked as WeChat does; answers the width.
fn look(body: &Map<String, Value>) -> Result<u32, Answer> {
    for flag in ["auto_color", "is_hyaline"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(fail(47001));
        }
    }
    if let Some(color) = body.get("line_color") {
        let ok = ["r", "g", "b"].iter().all(|k| {
            color
                .get(k)
                .and_then(Value::as_u64)
                .is_some_and(|v| v <= 255)
        });
        if !ok {
            return Err(fail(47001));
        }
    }
    match body.get("env_version") {
        None => {}
        Some(Value::String(v)) if matches!(v.as_str(), "release" | "trial" | "develop") => {}
        Some(_) => return Err(fail(40097)),
    }
    width(body)
}

fn png_answer(width: u32, seed: &[u8]) -> Answer {
    Answer::File {
        content_type: "image/png".to_owned(),
        filename: "wxacode.png".to_owned(),
        data: png(width, seed),
    }
}

/// A `width` × `width` 8-bit greyscale PNG: a 29 × 29 grid of black and white modules drawn
/// from `seed`, as a code would look.
pub(super) fn png(width: u32, seed: &[u8]) -> Bytes {
    const MODULES: usize = 29;
    let w = width as usize;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let module = |x: usize, y: usize| {
        let cell = (y * MODULES / w) * MODULES + x * MODULES / w;
        let mixed = (hash ^ cell as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if (mixed >> 61) & 1 == 1 { 0u8 } else { 255u8 }
    };
    // Scanlines: filter byte 0 (none), then the pixels.
    let mut raw = Vec::with_capacity((w + 1) * w);
    for y in 0..w {
        raw.push(0);
        raw.extend((0..w).map(|x| module(x, y)));
    }
    let mut ihdr = BytesMut::with_capacity(13);
    ihdr.put_u32(width);
    ihdr.put_u32(width);
    // Bit depth 8, colour type 0 (greyscale), deflate, adaptive filters, no interlace.
    ihdr.put_slice(&[8, 0, 0, 0, 0]);
    let mut out = BytesMut::with_capacity(raw.len() + raw.len() / 65535 * 5 + 64);
    out.put_slice(b"\x89PNG\r\n\x1a\n");
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", b"");
    out.freeze()
}

fn chunk(out: &mut BytesMut, kind: &[u8; 4], data: &[u8]) {
    out.put_u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
    out.put_slice(kind);
    out.put_slice(data);
    let mut crc = Crc32::new();
    crc.update(kind);
    crc.update(data);
    out.put_u32(crc.finish());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 16);
    // CMF: deflate, 32 KiB window; FLG: check bits so that CMF·256 + FLG is a multiple of 31.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(65535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for byte in chunk {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as PNG chunks carry it.
struct Crc32(u32);

impl Crc32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };

    fn new() -> Self {
        Self(0xffff_ffff)
    }

    fn update(&mut self, data: &[u8]) {
        for byte in data {
            self.0 = Self::TABLE[((self.0 ^ u32::from(*byte)) & 0xff) as usize] ^ (self.0 >> 8);
        }
    }

    fn finish(&self) -> u32 {
        self.0 ^ 0xffff_ffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_and_adler32_match_known_values() {
        let mut crc = Crc32::new();
        crc.update(b"IEND");
        assert_eq!(crc.finish(), 0xae42_6082);
        let mut crc = Crc32::new();
        crc.update(b"123456789");
        assert_eq!(crc.finish(), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn the_png_is_well_formed_and_sized_by_width() {
        let png = png(280, b"scene");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"));
        assert_eq!(&png[16..24], &[0, 0, 1, 24, 0, 0, 1, 24]);
        assert!(png.ends_with(b"\x00\x00\x00\x00IEND\xae\x42\x60\x82"));
        // Every chunk's CRC checks out.
        let mut at = 8;
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let mut crc = Crc32::new();
            crc.update(&png[at + 4..at + 8 + len]);
            let stored = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc.finish(), stored);
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        assert!(png.len() > 280 * 281);
        assert_ne!(super::png(280, b"other"), png);
    }
}
