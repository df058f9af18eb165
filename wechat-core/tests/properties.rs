//! Property tests of `wechat-core`: safe-mode round trips, reply round trips through the XML
//! reader, and "never panics" on arbitrary and mutated input.
//!
//! Case counts are kept moderate (256–512) so that the suite runs in seconds; raise them locally
//! with `PROPTEST_CASES=100000 cargo test -p wechat-tower-core --test properties --release`.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use wechat_core::reply::{Article, Music};
use wechat_core::xml::{Document, Element, push_cdata};
use wechat_core::{AesKey, ErrorKind, Message, MsgCrypt, Reply, signature};

/// `PROPTEST_CASES` when set, else `default` (an explicit `with_cases` ignores the variable).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Characters that stress XML text: every control character, markup characters, CDATA
/// delimiters' pieces, multi-byte and 4-byte UTF-8, and anything else.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        2 => (0u8..0x20).prop_map(char::from),
        1 => prop::sample::select(vec![
            ']', '>', '<', '&', '[', '!', '"', '\'', ';', '#', '\u{7f}', '\u{85}', '\u{a0}',
            '\u{feff}', '\u{2028}', '中', '😀', '\u{10ffff}', '\u{fffd}', '\u{fffe}',
            '\u{ffff}', '\u{efff}',
        ]),
    ]
}

/// Arbitrary UTF-8 text with control characters, `]]>`, CDATA openers, entities and emoji.
fn nasty_string() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        6 => nasty_char().prop_map(String::from),
        1 => Just("]]>".to_owned()),
        1 => Just("]]]]>".to_owned()),
        1 => Just("<![CDATA[".to_owned()),
        1 => Just("&amp;".to_owned()),
        1 => Just("</xml>".to_owned()),
        1 => Just("👨\u{200d}👩\u{200d}👧".to_owned()),
    ];
    prop::collection::vec(fragment, 0..48).prop_map(|parts| parts.concat())
}

/// A valid EncodingAESKey: 43 characters of the base64 alphabet (trailing bits arbitrary).
fn encoding_aes_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{43}"
}

/// A codec with an arbitrary token, key and app id.
fn crypt() -> impl Strategy<Value = (MsgCrypt, String)> {
    ("[ -~]{0,32}", encoding_aes_key(), "[A-Za-z0-9_]{0,32}").prop_map(|(token, key, appid)| {
        let crypt = MsgCrypt::new(&token, &key, &appid).expect("a 43-character base64 key");
        (crypt, token)
    })
}

/// Seconds as WeChat sends them: 1 to 10 digits.
fn timestamp() -> impl Strategy<Value = String> {
    "[0-9]{1,10}"
}

fn optional_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(nasty_string())
}

fn article() -> impl Strategy<Value = Article> {
    (
        nasty_string(),
        nasty_string(),
        nasty_string(),
        nasty_string(),
    )
        .prop_map(|(title, description, pic_url, url)| Article {
            title,
            description,
            pic_url,
            url,
        })
}

/// Every `Reply` variant with arbitrary strings.
fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        nasty_string().prop_map(Reply::Text),
        nasty_string().prop_map(Reply::image),
        nasty_string().prop_map(Reply::voice),
        (nasty_string(), optional_string(), optional_string()).prop_map(
            |(media_id, title, description)| Reply::Video {
                media_id,
                title,
                description,
            }
        ),
        (
            optional_string(),
            optional_string(),
            optional_string(),
            optional_string(),
            nasty_string()
        )
            .prop_map(
                |(title, description, music_url, hq_music_url, thumb_media_id)| {
                    Reply::Music(Music {
                        title,
                        description,
                        music_url,
                        hq_music_url,
                        thumb_media_id,
                    })
                }
            ),
        prop::collection::vec(article(), 1..=8).prop_map(Reply::News),
        optional_string().prop_map(|kf_account| Reply::TransferCustomerService { kf_account }),
        Just(Reply::Success),
    ]
}

/// Token soup that looks like XML, so that the reader gets past its first byte.
fn xmlish() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "<xml>",
        "</xml>",
        "<a>",
        "</a>",
        "<a/>",
        "<MsgType>",
        "</MsgType>",
        "event",
        "text",
        "<Event>",
        "</Event>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?",
        "?>",
        "<!DOCTYPE",
        "<!",
        "&amp;",
        "&#x",
        "&#",
        "&",
        ";",
        "\"",
        "'",
        "=",
        " ",
        "\n",
        "<",
        ">",
        "/",
        "\u{feff}",
        "😀",
        "1",
        "x",
    ]);
    prop::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
}

/// Base64 (standard alphabet, padded) of `bytes`, written here so the tests do not lean on the
/// crate's own encoder.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The crate's own inverse of [`b64`] is not public, so decode by hand for the mutation tests.
fn unb64(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The message vectors, read once from the in-repo copy.
fn message_vectors() -> &'static [(String, Vec<u8>)] {
    static VECTORS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/messages");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("tests/vectors/messages")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
            .map(|path| {
                let name = path
                    .file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned();
                (name, std::fs::read(&path).expect("readable vector"))
            })
            .collect();
        files.sort();
        assert_eq!(files.len(), 35, "message vector count changed");
        files
    })
}

/// One way of damaging a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at `at % len` with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Set the byte at `at % len`.
    Set { at: usize, byte: u8 },
    /// Keep only the first `at % (len + 1)` bytes.
    Truncate { at: usize },
    /// Remove the byte at `at % len`.
    Delete { at: usize },
    /// Insert `byte` before `at % (len + 1)`.
    Insert { at: usize, byte: u8 },
    /// Repeat the range `at..at + len` once (a "more of the same" nesting bomb in small).
    Duplicate { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (
            any::<usize>(),
            prop::sample::select(b"<>/&;![]\0\xff\x80".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Set { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip { at, mask } if len > 0 => bytes[at % len] ^= mask,
        Mutation::Set { at, byte } if len > 0 => bytes[at % len] = byte,
        Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
        Mutation::Delete { at } if len > 0 => {
            bytes.remove(at % len);
        }
        Mutation::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
        Mutation::Duplicate { at, len: n } if len > 0 => {
            let start = at % len;
            let end = (start + n).min(len);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
        _ => {}
    }
}

/// Parses `bytes` every way the crate offers; only a panic fails.
fn parse_every_way(bytes: &[u8]) {
    let _ = Message::from_bytes(bytes);
    if let Ok(doc) = Document::parse_bytes(bytes) {
        walk(doc.root(), 0);
        let _ = Message::from_element(doc.root(), "");
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = Message::from_xml(text);
        let _ = Document::parse(text);
    }
}

/// Touches every element of a parsed document.
fn walk(el: Element<'_, '_>, depth: usize) {
    assert!(
        depth <= wechat_core::xml::MAX_DEPTH + 1,
        "deeper than MAX_DEPTH"
    );
    let _ = (el.name(), el.text(), el.has_children());
    for child in el.children() {
        walk(child, depth + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/// XML 1.0's `Char` production, negated: what a reply must never contain. Written here from
/// the specification, independently of the crate's own.
fn forbidden_in_xml10(c: char) -> bool {
    let c = u32::from(c);
    !(c == 0x9
        || c == 0xA
        || c == 0xD
        || (0x20..=0xD7FF).contains(&c)
        || (0xE000..=0xFFFD).contains(&c)
        || (0x10000..=0x10FFFF).contains(&c))
}

/// What a reply carries of `text`: the characters XML 1.0 allows (issue 16: stripped, not
/// refused).
fn xml10(text: &str) -> String {
    text.chars().filter(|&c| !forbidden_in_xml10(c)).collect()
}

fn xml10_opt(text: &Option<String>) -> Option<String> {
    text.as_deref().map(xml10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn encrypt_then_decrypt_round_trips(
        (crypt, _token) in crypt(),
        plaintext in nasty_string(),
        random in any::<[u8; 16]>(),
    ) {
        let encrypt = crypt.encrypt_with_random(&plaintext, &random);
        prop_assert_eq!(crypt.decrypt(&encrypt).unwrap(), plaintext.clone());
        // The fresh-random variant round trips too.
        prop_assert_eq!(crypt.decrypt(&crypt.encrypt(&plaintext)).unwrap(), plaintext.clone());
        // Ciphertext length: random(16) + len(4) + msg + appid, padded to 32-byte blocks.
        let payload = 16 + 4 + plaintext.len() + crypt.app_id().len();
        let padded = (payload / 32 + 1) * 32;
        prop_assert_eq!(encrypt.len(), padded.div_ceil(3) * 4);
        prop_assert_eq!(b64(&unb64(&encrypt)), encrypt);
    }

    #[test]
    fn encrypt_message_then_decrypt_message_round_trips(
        (crypt, token) in crypt(),
        reply_xml in nasty_string(),
        timestamp in timestamp(),
        nonce in nasty_string(),
        random in any::<[u8; 16]>(),
    ) {
        let envelope = crypt
            .encrypt_message_with_random(&reply_xml, &timestamp, &nonce, &random)
            .unwrap();
        let doc = Document::parse(&envelope).unwrap();
        let root = doc.root();
        let encrypt = root.child_text("Encrypt").unwrap();
        let msg_signature = root.child_text("MsgSignature").unwrap();
        prop_assert_eq!(root.child_text("TimeStamp"), Some(timestamp.as_str()));
        prop_assert_eq!(root.child_text("Nonce"), Some(nonce.as_str()));
        prop_assert_eq!(encrypt, crypt.encrypt_with_random(&reply_xml, &random));
        prop_assert_eq!(msg_signature, crypt.signature(&timestamp, &nonce, encrypt));
        prop_assert!(signature::verify(msg_signature, &[&token, &timestamp, &nonce, encrypt]));
        prop_assert_eq!(
            crypt.decrypt_message(msg_signature, &timestamp, &nonce, envelope.as_bytes()).unwrap(),
            reply_xml.clone()
        );
        // The signature covers timestamp and nonce: another value is refused.
        let other_timestamp = format!("{timestamp}0");
        let err = crypt
            .decrypt_message(msg_signature, &other_timestamp, &nonce, envelope.as_bytes())
            .unwrap_err();
        prop_assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
        // The fresh-random variant round trips too.
        let envelope = crypt.encrypt_message(&reply_xml, &timestamp, &nonce).unwrap();
        let doc = Document::parse(&envelope).unwrap();
        let msg_signature = doc.root().child_text("MsgSignature").unwrap();
        prop_assert_eq!(
            crypt.decrypt_message(msg_signature, &timestamp, &nonce, envelope.as_bytes()).unwrap(),
            reply_xml
        );
    }

    #[test]
    fn reply_to_xml_parses_back_to_the_same_fields(
        reply in reply(),
        to_user in nasty_string(),
        from_user in nasty_string(),
        create_time in any::<u64>(),
    ) {
        let xml = reply.to_xml(&to_user, &from_user, create_time).unwrap();
        let Some(msg_type) = reply.msg_type() else {
            prop_assert_eq!(xml, "success");
            return Ok(());
        };
        // Valid XML 1.0: no forbidden character survives, and the crate's reader takes it back.
        prop_assert!(!xml.chars().any(forbidden_in_xml10), "{:?}", xml);
        let doc = Document::parse(&xml).unwrap();
        let root = doc.root();
        prop_assert_eq!(root.name(), "xml");
        prop_assert_eq!(root.child_text("ToUserName").map(str::to_owned), Some(xml10(&to_user)));
        prop_assert_eq!(root.child_text("FromUserName").map(str::to_owned), Some(xml10(&from_user)));
        let create_time = create_time.to_string();
        prop_assert_eq!(root.child_text("CreateTime"), Some(create_time.as_str()));
        prop_assert_eq!(root.child_text("MsgType"), Some(msg_type));
        match &reply {
            Reply::Text(content) => {
                prop_assert_eq!(root.child_text("Content").map(str::to_owned), Some(xml10(content)));
            }
            Reply::Image { media_id } => {
                let image = root.child("Image").unwrap();
                prop_assert_eq!(image.child_text("MediaId").map(str::to_owned), Some(xml10(media_id)));
            }
            Reply::Voice { media_id } => {
                let voice = root.child("Voice").unwrap();
                prop_assert_eq!(voice.child_text("MediaId").map(str::to_owned), Some(xml10(media_id)));
            }
            Reply::Video { media_id, title, description } => {
                let video = root.child("Video").unwrap();
                prop_assert_eq!(video.child_text("MediaId").map(str::to_owned), Some(xml10(media_id)));
                prop_assert_eq!(video.child_text("Title").map(str::to_owned), xml10_opt(title));
                prop_assert_eq!(video.child_text("Description").map(str::to_owned), xml10_opt(description));
            }
            Reply::Music(music) => {
                let el = root.child("Music").unwrap();
                prop_assert_eq!(el.child_text("Title").map(str::to_owned), xml10_opt(&music.title));
                prop_assert_eq!(el.child_text("Description").map(str::to_owned), xml10_opt(&music.description));
                prop_assert_eq!(el.child_text("MusicUrl").map(str::to_owned), xml10_opt(&music.music_url));
                prop_assert_eq!(el.child_text("HQMusicUrl").map(str::to_owned), xml10_opt(&music.hq_music_url));
                prop_assert_eq!(el.child_text("ThumbMediaId").map(str::to_owned), Some(xml10(&music.thumb_media_id)));
            }
            Reply::News(articles) => {
                let count = articles.len().to_string();
                prop_assert_eq!(root.child_text("ArticleCount"), Some(count.as_str()));
                let items: Vec<_> = root.child("Articles").unwrap().children().collect();
                prop_assert_eq!(items.len(), articles.len());
                for (item, article) in items.iter().zip(articles) {
                    prop_assert_eq!(item.name(), "item");
                    prop_assert_eq!(item.child_text("Title").map(str::to_owned), Some(xml10(&article.title)));
                    prop_assert_eq!(
                        item.child_text("Description").map(str::to_owned),
                        Some(xml10(&article.description))
                    );
                    prop_assert_eq!(item.child_text("PicUrl").map(str::to_owned), Some(xml10(&article.pic_url)));
                    prop_assert_eq!(item.child_text("Url").map(str::to_owned), Some(xml10(&article.url)));
                }
            }
            Reply::TransferCustomerService { kf_account } => {
                let account = root.child("TransInfo").and_then(|t| t.child_text("KfAccount"));
                prop_assert_eq!(account.map(str::to_owned), xml10_opt(kf_account));
            }
            other => prop_assert!(false, "no check for {:?}", other),
        }
        // An encrypted reply carries the same bytes.
        let crypt = MsgCrypt::new("t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx").unwrap();
        prop_assert_eq!(crypt.decrypt(&crypt.encrypt(&xml)).unwrap(), xml);
    }

    #[test]
    fn a_text_message_parses_back_its_content(
        content in nasty_string(),
        from_user in nasty_string(),
        msg_id in any::<u64>(),
    ) {
        // A user message built the way WeChat writes it (CDATA, `]]>` split) reads back exactly,
        // control characters included. (Built with `push_cdata`, not `Reply`, which strips the
        // characters XML 1.0 forbids.)
        let mut xml = String::from("<xml>\n<ToUserName>");
        push_cdata(&mut xml, &from_user);
        xml.push_str("</ToUserName>\n<FromUserName><![CDATA[gh_account]]></FromUserName>\n\
            <CreateTime>1</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content>");
        push_cdata(&mut xml, &content);
        let xml = format!("{xml}</Content>\n<MsgId>{msg_id}</MsgId>\n</xml>");
        let Message::Text(text) = Message::from_xml(&xml).unwrap() else {
            panic!("not a text message");
        };
        prop_assert_eq!(text.content, content);
        prop_assert_eq!(text.header.to_user_name, from_user);
        prop_assert_eq!(text.header.msg_id, Some(msg_id));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_every_way(&bytes);
    }

    #[test]
    fn xml_like_input_never_panics(text in xmlish()) {
        parse_every_way(text.as_bytes());
    }

    #[test]
    fn decrypt_message_never_panics(
        msg_signature in "[ -~]{0,48}",
        timestamp in "[ -~]{0,12}",
        nonce in "[ -~]{0,12}",
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            xmlish().prop_map(String::into_bytes),
            // A well-formed envelope around an arbitrary Encrypt value.
            "[A-Za-z0-9+/=]{0,200}".prop_map(|e| {
                format!("<xml><Encrypt><![CDATA[{e}]]></Encrypt></xml>").into_bytes()
            }),
        ],
    ) {
        let crypt = MsgCrypt::new("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx123").unwrap();
        let _ = crypt.decrypt_message(&msg_signature, &timestamp, &nonce, &body);
    }

    #[test]
    fn decrypt_never_panics(
        encrypt in prop_oneof![
            ".{0,128}",
            "[A-Za-z0-9+/=]{0,256}",
            // Well-formed base64 of whole AES blocks: exercises padding, length and appid checks.
            (1usize..6)
                .prop_flat_map(|blocks| prop::collection::vec(any::<u8>(), blocks * 32))
                .prop_map(|bytes| b64(&bytes)),
            prop::collection::vec(any::<u8>(), 0..200).prop_map(|bytes| b64(&bytes)),
        ],
        appid in "[a-z0-9]{0,24}",
    ) {
        let crypt = MsgCrypt::new("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", &appid).unwrap();
        match crypt.decrypt(&encrypt) {
            // A random ciphertext essentially never names our app id; if it does, fine.
            Ok(_) => {}
            Err(e) => prop_assert!(matches!(
                e.kind(),
                ErrorKind::InvalidBase64
                    | ErrorKind::InvalidCiphertext
                    | ErrorKind::InvalidPadding
                    | ErrorKind::InvalidLength
                    | ErrorKind::AppIdMismatch
                    | ErrorKind::InvalidUtf8
            ), "unexpected kind {:?}", e.kind()),
        }
        let _ = crypt.verify_and_decrypt("0000000000000000000000000000000000000000", "1", "n", &encrypt);
    }

    #[test]
    fn aes_key_parse_never_panics(key in prop_oneof![".{0,64}", "[A-Za-z0-9+/=]{40,46}"]) {
        if let Ok(parsed) = AesKey::parse(&key) {
            prop_assert_eq!(key.len(), 43);
            prop_assert_eq!(parsed.expose().len(), 32);
        }
        let _ = MsgCrypt::new("t", &key, "wx");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn mutated_message_vectors_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let vectors = message_vectors();
        let (_name, original) = &vectors[pick.index(vectors.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        parse_every_way(&bytes);
    }

    #[test]
    fn mutated_ciphertext_never_panics(
        at in any::<prop::sample::Index>(),
        mask in 1u8..,
        truncate in any::<bool>(),
    ) {
        // The official sample (msg_crypto.json oa_python_sample_decrypt), damaged, re-signed.
        const ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
        let crypt = MsgCrypt::new("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2").unwrap();
        let mut bytes = unb64(ENCRYPT);
        prop_assert_eq!(b64(&bytes), ENCRYPT);
        let i = at.index(bytes.len());
        if truncate {
            bytes.truncate(i);
        } else {
            bytes[i] ^= mask;
        }
        let encrypt = b64(&bytes);
        let sig = crypt.signature("1409735669", "1320562132", &encrypt);
        if let Ok(xml) = crypt.verify_and_decrypt(&sig, "1409735669", "1320562132", &encrypt) {
            parse_every_way(xml.as_bytes());
        }
    }
}

#[test]
fn b64_helpers_match_known_values() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"f"), "Zg==");
    assert_eq!(b64(b"fo"), "Zm8=");
    assert_eq!(b64(b"foo"), "Zm9v");
    assert_eq!(b64(b"foob"), "Zm9vYg==");
    assert_eq!(unb64("Zm9vYg=="), b"foob");
    assert_eq!(unb64("Zm8="), b"fo");
}

#[test]
fn mutations_do_what_they_say() {
    let mut v = b"abc".to_vec();
    apply(&mut v, &Mutation::Flip { at: 4, mask: 0x20 });
    assert_eq!(v, b"aBc");
    apply(&mut v, &Mutation::Duplicate { at: 1, len: 5 });
    assert_eq!(v, b"aBcBc");
    apply(&mut v, &Mutation::Truncate { at: 3 });
    assert_eq!(v, b"aBc");
    apply(&mut v, &Mutation::Insert { at: 0, byte: b'<' });
    assert_eq!(v, b"<aBc");
    apply(&mut v, &Mutation::Delete { at: 1 });
    assert_eq!(v, b"<Bc");
    apply(&mut v, &Mutation::Set { at: 2, byte: b'>' });
    assert_eq!(v, b"<B>");
}
