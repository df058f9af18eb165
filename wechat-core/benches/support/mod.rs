//! The benchmark workloads W1–W4 on the exact bytes of `benches/data/fixture.json` (where it comes
//! from: `benches/data/PROVENANCE.md`), shared by the criterion bench and the `workloads` example.
//! Setup (key derivation, fixture loading) happens in [`Workloads::load`]; each `wN` method is one
//! timed operation producing the full result.

mod raw;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use wechat_core::{Message, MsgCrypt, Reply, message::TextMessage, signature, xml::Document};

/// The fields of `fixture.json` the workloads use.
#[derive(Debug, Deserialize)]
pub(crate) struct Fixture {
    pub(crate) token: String,
    pub(crate) encoding_aes_key: String,
    pub(crate) appid: String,
    pub(crate) timestamp: String,
    pub(crate) nonce: String,
    pub(crate) openid: String,
    pub(crate) signature: String,
    pub(crate) plain_xml: String,
    pub(crate) msg_signature: String,
    pub(crate) encrypted_body: String,
    pub(crate) reply_content: String,
}

/// Prepared inputs of the four workloads.
#[derive(Debug)]
pub(crate) struct Workloads {
    pub(crate) fixture: Fixture,
    pub(crate) crypt: MsgCrypt,
    /// The W2 message object, input of W4.
    pub(crate) message: TextMessage,
    /// The same workloads on raw crates (the floor).
    raw: raw::Raw,
    raw_message: raw::RawText,
}

impl Workloads {
    /// Loads the in-repo copy of the fixture and prepares the codec.
    pub(crate) fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/fixture.json");
        let text = std::fs::read_to_string(path).expect("read fixture.json");
        let fixture: Fixture = serde_json::from_str(&text).expect("parse fixture.json");
        let crypt = MsgCrypt::new(&fixture.token, &fixture.encoding_aes_key, &fixture.appid)
            .expect("fixture key");
        let Message::Text(message) = Message::from_xml(&fixture.plain_xml).expect("fixture xml")
        else {
            panic!("fixture is not a text message");
        };
        let raw = raw::Raw {
            token: fixture.token.clone(),
            key: *wechat_core::AesKey::parse(&fixture.encoding_aes_key)
                .expect("fixture key")
                .expose(),
            appid: fixture.appid.clone(),
        };
        let raw_message = raw::Raw::w2(&fixture.plain_xml);
        Self {
            fixture,
            crypt,
            message,
            raw,
            raw_message,
        }
    }

    /// W1: verify the URL signature.
    pub(crate) fn w1(&self) -> bool {
        let f = &self.fixture;
        signature::verify(&f.signature, &[&f.token, &f.timestamp, &f.nonce])
    }

    /// W2: parse the plaintext text message into a typed message.
    pub(crate) fn w2(&self) -> Message {
        Message::from_xml(&self.fixture.plain_xml).expect("W2 parse")
    }

    /// W3: envelope, `msg_signature`, base64, AES-256-CBC, padding, length, appid, then W2.
    pub(crate) fn w3(&self) -> Message {
        let f = &self.fixture;
        let xml = self
            .crypt
            .decrypt_message(
                &f.msg_signature,
                &f.timestamp,
                &f.nonce,
                f.encrypted_body.as_bytes(),
            )
            .expect("W3 decrypt");
        Message::from_xml(&xml).expect("W3 parse")
    }

    /// W4: render a text reply to the W2 message (CreateTime = now), encrypt it with 16 fresh
    /// random bytes, sign it and render the envelope.
    pub(crate) fn w4(&self) -> String {
        let f = &self.fixture;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let reply = Reply::text(f.reply_content.as_str())
            .to_xml(
                &self.message.header.from_user_name,
                &self.message.header.to_user_name,
                now,
            )
            .expect("W4 render");
        self.crypt
            .encrypt_message(&reply, &f.timestamp, &f.nonce)
            .expect("W4 encrypt")
    }

    /// W1 on raw crates.
    pub(crate) fn raw_w1(&self) -> bool {
        let f = &self.fixture;
        self.raw.w1(&f.signature, &f.timestamp, &f.nonce)
    }

    /// W2 on raw crates.
    pub(crate) fn raw_w2(&self) -> impl Sized {
        raw::Raw::w2(&self.fixture.plain_xml)
    }

    /// W3 on raw crates.
    pub(crate) fn raw_w3(&self) -> impl Sized {
        let f = &self.fixture;
        self.raw
            .w3(&f.encrypted_body, &f.msg_signature, &f.timestamp, &f.nonce)
    }

    /// W4 on raw crates.
    pub(crate) fn raw_w4(&self) -> String {
        let f = &self.fixture;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.raw.w4(
            &self.raw_message,
            &f.reply_content,
            &f.timestamp,
            &f.nonce,
            now,
        )
    }

    /// Checks every workload's result against the fixture before timing, so a fast wrong answer
    /// cannot be measured.
    pub(crate) fn self_check(&self) {
        let f = &self.fixture;
        assert!(self.w1(), "W1: fixture signature must verify");
        for (name, msg) in [("W2", self.w2()), ("W3", self.w3())] {
            let Message::Text(text) = msg else {
                panic!("{name}: not a text message");
            };
            assert_eq!(text.header.to_user_name, "gh_0123456789ab", "{name}");
            assert_eq!(text.header.from_user_name, f.openid, "{name}");
            assert_eq!(text.header.create_time, 1_700_000_000, "{name}");
            assert_eq!(text.content, f.reply_content, "{name}");
            assert_eq!(text.header.msg_id, Some(23_456_789_012_345_678), "{name}");
        }
        let envelope = self.w4();
        let doc = Document::parse(&envelope).expect("W4 envelope");
        let root = doc.root();
        let encrypt = root.child_text("Encrypt").expect("W4 Encrypt");
        let sig = root.child_text("MsgSignature").expect("W4 MsgSignature");
        let xml = self
            .crypt
            .verify_and_decrypt(sig, &f.timestamp, &f.nonce, encrypt)
            .expect("W4 decrypts");
        let reply = Document::parse(&xml).expect("W4 reply xml");
        assert_eq!(
            reply.root().child_text("Content"),
            Some(f.reply_content.as_str())
        );
        assert_eq!(
            reply.root().child_text("ToUserName"),
            Some(f.openid.as_str())
        );
        assert_eq!(reply.root().child_text("MsgType"), Some("text"));

        assert!(self.raw_w1(), "raw W1");
        let raw = self
            .raw
            .w3(&f.encrypted_body, &f.msg_signature, &f.timestamp, &f.nonce);
        assert_eq!(
            (raw.content.as_str(), raw.msg_id),
            (f.reply_content.as_str(), 23_456_789_012_345_678)
        );
        assert_eq!(
            (raw.msg_type.as_str(), raw.create_time),
            ("text", 1_700_000_000)
        );
        let raw_reply = self.raw_w4();
        let doc = Document::parse(&raw_reply).expect("raw W4 envelope");
        let encrypt = doc.root().child_text("Encrypt").expect("raw W4 Encrypt");
        let xml = self.crypt.decrypt(encrypt).expect("raw W4 decrypts");
        assert!(xml.contains(&f.reply_content));
    }
}
