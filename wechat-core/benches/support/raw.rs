//! The raw floor: W1–W4 written directly on the crates (sha1, aes + cbc, base64, a quick-xml
//! event walk, rand), with no framework around them, so that our figures and the floor are
//! measured in the same run on the same machine.

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rand::RngCore;
use sha1::{Digest, Sha1};

/// The fields a raw W2 extracts.
#[derive(Debug, Default)]
pub(crate) struct RawText {
    pub(crate) to: String,
    pub(crate) from: String,
    pub(crate) create_time: u64,
    pub(crate) msg_type: String,
    pub(crate) content: String,
    pub(crate) msg_id: u64,
}

#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) token: String,
    pub(crate) key: [u8; 32],
    pub(crate) appid: String,
}

fn sha1_hex(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut h = Sha1::new();
    for p in sorted {
        h.update(p.as_bytes());
    }
    // What the `hex` crate's `encode` does: a table lookup per nibble into one String.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(40);
    for b in h.finalize() {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    hex
}

impl Raw {
    pub(crate) fn w1(&self, signature: &str, timestamp: &str, nonce: &str) -> bool {
        sha1_hex(&[&self.token, timestamp, nonce]) == signature
    }

    pub(crate) fn w2(xml: &str) -> RawText {
        let mut reader = Reader::from_str(xml);
        let mut out = RawText::default();
        let mut field = Vec::new();
        loop {
            match reader.read_event().expect("raw xml") {
                Event::Start(e) => field = e.name().as_ref().to_vec(),
                Event::End(_) => field.clear(),
                Event::CData(t) => set(&mut out, &field, &String::from_utf8_lossy(&t)),
                Event::Text(t) => set(&mut out, &field, &t.unescape().expect("raw text")),
                Event::Eof => return out,
                _ => {}
            }
        }
    }

    pub(crate) fn w3(
        &self,
        body: &str,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
    ) -> RawText {
        let mut reader = Reader::from_str(body);
        let mut encrypt = String::new();
        let mut in_encrypt = false;
        loop {
            match reader.read_event().expect("raw envelope") {
                Event::Start(e) => in_encrypt = e.name().as_ref() == b"Encrypt",
                Event::CData(t) if in_encrypt => encrypt = String::from_utf8_lossy(&t).into_owned(),
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(
            sha1_hex(&[&self.token, timestamp, nonce, &encrypt]),
            msg_signature
        );
        let mut buf = STANDARD.decode(&encrypt).expect("raw base64");
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), self.key[..16].into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .expect("raw decrypt");
        let pad = usize::from(plain[plain.len() - 1]);
        let content = &plain[..plain.len() - pad];
        let len = u32::from_be_bytes(content[16..20].try_into().expect("len")) as usize;
        assert_eq!(&content[20 + len..], self.appid.as_bytes());
        Self::w2(std::str::from_utf8(&content[20..20 + len]).expect("raw utf8"))
    }

    pub(crate) fn w4(
        &self,
        msg: &RawText,
        content: &str,
        timestamp: &str,
        nonce: &str,
        now: u64,
    ) -> String {
        let xml = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content></xml>",
            msg.from, msg.to
        );
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        let mut buf = Vec::with_capacity(xml.len() + 80);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&(xml.len() as u32).to_be_bytes());
        buf.extend_from_slice(xml.as_bytes());
        buf.extend_from_slice(self.appid.as_bytes());
        let pad = 32 - buf.len() % 32;
        buf.resize(buf.len() + pad, pad as u8);
        let len = buf.len();
        cbc::Encryptor::<Aes256>::new(&self.key.into(), self.key[..16].into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .expect("raw encrypt");
        let encrypt = STANDARD.encode(&buf);
        let sig = sha1_hex(&[&self.token, timestamp, nonce, &encrypt]);
        format!(
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
    }
}

fn set(out: &mut RawText, field: &[u8], value: &str) {
    match field {
        b"ToUserName" => out.to = value.to_owned(),
        b"FromUserName" => out.from = value.to_owned(),
        b"CreateTime" => out.create_time = value.parse().expect("raw time"),
        b"MsgType" => out.msg_type = value.to_owned(),
        b"Content" => out.content = value.to_owned(),
        b"MsgId" => out.msg_id = value.parse().expect("raw msgid"),
        _ => {}
    }
}
