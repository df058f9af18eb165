//! A walk through the protocol on WeChat's own published samples, no account needed:
//!
//! 1. verify the URL signature of the official message-push example (服务器配置);
//! 2. check `msg_signature`, decrypt and parse the official safe-mode (安全模式) sample;
//! 3. answer it with an encrypted, signed text reply, and read that reply back as WeChat would.
//!
//! Run it with `cargo run -p core-demo`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use wechat_tower::core::xml::Document;
use wechat_tower::{Message, MsgCrypt, Reply, signature};

/// From the official docs (developers.weixin.qq.com, message-push): token, timestamp, nonce and
/// the signature WeChat sent.
const URL_SAMPLE: (&str, &str, &str, &str) = (
    "AAAAA",
    "1714036504",
    "1514711492",
    "f464b24fc39322e44b38aa78f5edd27bd1441696",
);

/// The official safe-mode sample (WXBizMsgCrypt Sample.py): token, EncodingAESKey, appid,
/// timestamp, nonce, msg_signature and the POSTed body (compatible mode, 兼容模式: plaintext
/// fields beside `Encrypt`).
const SAFE_TOKEN: &str = "spamtest";
const SAFE_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const SAFE_APPID: &str = "wx2c2769f8efd9abc2";
const SAFE_TIMESTAMP: &str = "1409735669";
const SAFE_NONCE: &str = "1320562132";
const SAFE_MSG_SIGNATURE: &str = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
const SAFE_BODY: &str = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("core-demo failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (token, timestamp, nonce, sig) = URL_SAMPLE;
    let ok = signature::verify(sig, &[token, timestamp, nonce]);
    println!(
        "1. URL signature of the official example: {}",
        if ok { "valid" } else { "INVALID" }
    );
    if !ok {
        return Err("the official URL signature did not verify".into());
    }
    let forged = signature::verify(sig, &[token, timestamp, "1514711493"]);
    println!(
        "   the same signature with another nonce: {}",
        if forged { "valid" } else { "rejected" }
    );

    let crypt = MsgCrypt::new(SAFE_TOKEN, SAFE_AES_KEY, SAFE_APPID)?;
    let xml = crypt.decrypt_message(
        SAFE_MSG_SIGNATURE,
        SAFE_TIMESTAMP,
        SAFE_NONCE,
        SAFE_BODY.as_bytes(),
    )?;
    let Message::Text(text) = Message::from_xml(&xml)? else {
        return Err("the official sample is not a text message".into());
    };
    println!("2. official safe-mode sample: msg_signature valid, appid {SAFE_APPID} checked");
    println!(
        "   text from {} to {} at {}: {:?} (MsgId {:?})",
        text.header.from_user_name,
        text.header.to_user_name,
        text.header.create_time,
        text.content,
        text.header.msg_id
    );

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let reply = Reply::text(format!("echo: {}", text.content)).to_xml(
        &text.header.from_user_name,
        &text.header.to_user_name,
        now,
    )?;
    let now = now.to_string();
    let envelope = crypt.encrypt_message(&reply, &now, "demo-nonce")?;
    println!("3. encrypted reply ({} bytes):\n{envelope}", envelope.len());

    let doc = Document::parse(&envelope)?;
    let root = doc.root();
    let encrypt = root.child_text("Encrypt").ok_or("reply without Encrypt")?;
    let msg_signature = root
        .child_text("MsgSignature")
        .ok_or("reply without MsgSignature")?;
    let back = crypt.verify_and_decrypt(msg_signature, &now, "demo-nonce", encrypt)?;
    println!("   WeChat reads it back:\n{back}");
    Ok(())
}
