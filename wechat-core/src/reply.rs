//! Passive replies (被动回复用户消息): what the server answers to a pushed message.
//!
//! A [`Reply`] holds only what the handler decides; the addressing (to the sender, from the
//! account, when) comes from the message being answered, so [`Reply::to_xml`] takes it then.
//!
//! ```
//! use wechat_core::Reply;
//!
//! let xml = Reply::text("你好").to_xml("oUser", "gh_account", 1700000000)?;
//! assert_eq!(xml, "<xml>\n<ToUserName><![CDATA[oUser]]></ToUserName>\n\
//!                  <FromUserName><![CDATA[gh_account]]></FromUserName>\n\
//!                  <CreateTime>1700000000</CreateTime>\n\
//!                  <MsgType><![CDATA[text]]></MsgType>\n\
//!                  <Content><![CDATA[你好]]></Content>\n</xml>");
//!
//! // An empty answer is the literal body `success`, which tells WeChat not to retry.
//! assert_eq!(Reply::Success.to_xml("oUser", "gh_account", 1700000000)?, "success");
//! # Ok::<(), wechat_core::Error>(())
//! ```
//!
//! Every reply is valid XML 1.0: the characters XML 1.0 forbids (U+0000–U+0008, U+000B,
//! U+000C, U+000E–U+001F, U+FFFE, U+FFFF) are **stripped** from every text written, addressing
//! included; tab, LF and CR stay. An echo bot echoes what users type, NUL included, and a
//! reply WeChat cannot parse is lost (the user sees "该公众号暂时无法提供服务"), while a refusal
//! would lose the whole reply for an invisible character. Text without such characters is
//! written without a copy.
//!
//! ```
//! use wechat_core::Reply;
//!
//! let xml = Reply::text("\0a\u{1}b\tc").to_xml("oUser", "gh_account", 1)?;
//! assert!(xml.contains("<Content><![CDATA[ab\tc]]></Content>"));
//! # Ok::<(), wechat_core::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{ErrorKind, Result};
use crate::xml::push_cdata_element;

/// Most articles a news reply may carry.
pub const MAX_ARTICLES: usize = 8;

/// A passive reply. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// A text reply (`Content`).
    Text(String),
    /// An image, by `MediaId`.
    Image {
        /// `MediaId` of an uploaded image.
        media_id: String,
    },
    /// A voice message, by `MediaId`.
    Voice {
        /// `MediaId` of an uploaded voice.
        media_id: String,
    },
    /// A video, by `MediaId`.
    Video {
        /// `MediaId` of an uploaded video.
        media_id: String,
        /// `Title`.
        title: Option<String>,
        /// `Description`.
        description: Option<String>,
    },
    /// Music.
    Music(Music),
    /// News (图文消息): 1 to [`MAX_ARTICLES`] articles (WeChat shows only the first since 2018).
    News(Vec<Article>),
    /// Hand the conversation to customer service (转发到客服), optionally to one account.
    TransferCustomerService {
        /// `TransInfo/KfAccount`: the customer-service account, e.g. `test1@test`.
        kf_account: Option<String>,
    },
    /// No reply: the literal body `success`, which WeChat takes as "received, nothing to say".
    Success,
}

/// The music of a [`Reply::Music`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Music {
    /// `Title`.
    pub title: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `MusicUrl`.
    pub music_url: Option<String>,
    /// `HQMusicUrl`: the high-quality link, preferred on Wi-Fi.
    pub hq_music_url: Option<String>,
    /// `ThumbMediaId`: required by WeChat.
    pub thumb_media_id: String,
}

/// One article of a [`Reply::News`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Article {
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `PicUrl`: the cover picture.
    pub pic_url: String,
    /// `Url`: where a tap leads.
    pub url: String,
}

impl Reply {
    /// A text reply.
    #[must_use]
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text(content.into())
    }

    /// An image reply.
    #[must_use]
    pub fn image(media_id: impl Into<String>) -> Self {
        Self::Image {
            media_id: media_id.into(),
        }
    }

    /// A voice reply.
    #[must_use]
    pub fn voice(media_id: impl Into<String>) -> Self {
        Self::Voice {
            media_id: media_id.into(),
        }
    }

    /// A news reply, checked to carry 1 to [`MAX_ARTICLES`] articles.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ArticleCount`] for no articles or more than eight.
    pub fn news(articles: Vec<Article>) -> Result<Self> {
        check_articles(&articles)?;
        Ok(Self::News(articles))
    }

    /// `MsgType` of the reply as WeChat spells it; `None` for [`Reply::Success`].
    #[must_use]
    pub fn msg_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::Text(_) => "text",
            Self::Image { .. } => "image",
            Self::Voice { .. } => "voice",
            Self::Video { .. } => "video",
            Self::Music(_) => "music",
            Self::News(_) => "news",
            Self::TransferCustomerService { .. } => "transfer_customer_service",
            Self::Success => return None,
        })
    }

    /// Writes the reply as WeChat expects it: to the sender (`to_user`, the message's
    /// `FromUserName`), from the account (`from_user`, its `ToUserName`), created at
    /// `create_time` (seconds). [`Reply::Success`] writes `success`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ArticleCount`] for a news reply without articles or with more than eight.
    pub fn to_xml(&self, to_user: &str, from_user: &str, create_time: u64) -> Result<String> {
        let mut out = String::with_capacity(256);
        self.write_xml(&mut out, to_user, from_user, create_time)?;
        Ok(out)
    }

    /// [`Reply::to_xml`] appending to a buffer.
    ///
    /// # Errors
    ///
    /// As [`Reply::to_xml`]; nothing is written on error.
    pub fn write_xml(
        &self,
        out: &mut String,
        to_user: &str,
        from_user: &str,
        create_time: u64,
    ) -> Result<()> {
        let Some(msg_type) = self.msg_type() else {
            out.push_str("success");
            return Ok(());
        };
        if let Self::News(articles) = self {
            check_articles(articles)?;
        }
        out.push_str("<xml>\n");
        push_text_element(out, "ToUserName", to_user);
        push_text_element(out, "FromUserName", from_user);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "<CreateTime>{create_time}</CreateTime>");
        push_text_element(out, "MsgType", msg_type);
        match self {
            Self::Text(content) => push_text_element(out, "Content", content),
            Self::Image { media_id } => media(out, "Image", media_id),
            Self::Voice { media_id } => media(out, "Voice", media_id),
            Self::Video {
                media_id,
                title,
                description,
            } => {
                out.push_str("<Video>\n");
                push_text_element(out, "MediaId", media_id);
                optional(out, "Title", title.as_deref());
                optional(out, "Description", description.as_deref());
                out.push_str("</Video>\n");
            }
            Self::Music(music) => {
                out.push_str("<Music>\n");
                optional(out, "Title", music.title.as_deref());
                optional(out, "Description", music.description.as_deref());
                push_text_element(out, "ThumbMediaId", &music.thumb_media_id);
                optional(out, "MusicUrl", music.music_url.as_deref());
                optional(out, "HQMusicUrl", music.hq_music_url.as_deref());
                out.push_str("</Music>\n");
            }
            Self::News(articles) => {
                let _ = writeln!(out, "<ArticleCount>{}</ArticleCount>", articles.len());
                out.push_str("<Articles>\n");
                for article in articles {
                    out.push_str("<item>\n");
                    push_text_element(out, "Title", &article.title);
                    push_text_element(out, "Description", &article.description);
                    push_text_element(out, "PicUrl", &article.pic_url);
                    push_text_element(out, "Url", &article.url);
                    out.push_str("</item>\n");
                }
                out.push_str("</Articles>\n");
            }
            Self::TransferCustomerService { kf_account } => {
                if let Some(account) = kf_account {
                    out.push_str("<TransInfo>\n");
                    push_text_element(out, "KfAccount", account);
                    out.push_str("</TransInfo>\n");
                }
            }
            Self::Success => {}
        }
        out.push_str("</xml>");
        Ok(())
    }
}

impl From<String> for Reply {
    fn from(content: String) -> Self {
        Self::Text(content)
    }
}

impl From<&str> for Reply {
    fn from(content: &str) -> Self {
        Self::Text(content.to_owned())
    }
}

fn check_articles(articles: &[Article]) -> Result<()> {
    if articles.is_empty() || articles.len() > MAX_ARTICLES {
        return Err(ErrorKind::ArticleCount(articles.len()).into());
    }
    Ok(())
}

fn media(out: &mut String, name: &str, media_id: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str(">\n");
    push_text_element(out, "MediaId", media_id);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn optional(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        push_text_element(out, name, value);
    }
}

/// Appends `<name><![CDATA[text]]></name>` and a newline, `text` without the characters XML 1.0
/// forbids ([`strip_forbidden`]): every text a reply carries goes through here.
fn push_text_element(out: &mut String, name: &str, text: &str) {
    // Stripped before the `]]>` split: removing a NUL from `]]\0>` makes a terminator.
    push_cdata_element(out, name, &strip_forbidden(text));
}

/// Whether `c` is a character XML 1.0 forbids anywhere in a document (section 2.2, `Char`):
/// U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE and U+FFFF. Tab, LF and CR are allowed;
/// surrogates cannot occur in a `str`.
fn is_forbidden_in_xml(c: char) -> bool {
    matches!(
        c,
        '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// `text` without the characters XML 1.0 forbids. Borrows, without allocating, when there is
/// none: a branch-free scan for the bytes that can start one comes first.
fn strip_forbidden(text: &str) -> Cow<'_, str> {
    if !may_hold_forbidden(text.as_bytes()) || !text.chars().any(is_forbidden_in_xml) {
        // The second test sorts out tab, CR and `0xEF` leading other characters (U+F000–U+FFFD).
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !is_forbidden_in_xml(c)).collect())
}

/// Whether any byte could start a forbidden character: a C0 control other than LF (tab and CR
/// are sorted out later), or `0xEF`, the first byte of U+FFFE/U+FFFF in UTF-8. Chunks are folded
/// without an early exit, so the loop vectorises.
fn may_hold_forbidden(bytes: &[u8]) -> bool {
    const CHUNK: usize = 32;
    let suspect = |b: u8| (b < 0x20 && b != b'\n') | (b == 0xEF);
    let mut chunks = bytes.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |acc, &b| acc | suspect(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| suspect(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_needs_one_to_eight_articles() {
        assert!(Reply::news(vec![]).is_err());
        assert!(Reply::news(vec![Article::default(); 9]).is_err());
        assert!(Reply::news(vec![Article::default(); 8]).is_ok());
        let too_many = Reply::News(vec![Article::default(); 9]);
        let mut out = String::from("kept");
        assert_eq!(
            too_many
                .write_xml(&mut out, "a", "b", 1)
                .unwrap_err()
                .kind(),
            &ErrorKind::ArticleCount(9)
        );
        assert_eq!(out, "kept");
    }

    #[test]
    fn issue16_forbidden_characters_are_stripped_golden() {
        let xml = Reply::text("\0a\u{1}b\tc").to_xml("u", "gh", 1).unwrap();
        assert_eq!(
            xml,
            "<xml>\n<ToUserName><![CDATA[u]]></ToUserName>\n\
             <FromUserName><![CDATA[gh]]></FromUserName>\n\
             <CreateTime>1</CreateTime>\n\
             <MsgType><![CDATA[text]]></MsgType>\n\
             <Content><![CDATA[ab\tc]]></Content>\n</xml>"
        );
        // Every text of every reply, addressing included.
        let dirty = "x\u{0}\u{b}\u{c}\u{1f}\u{fffe}\u{ffff}\r\ny";
        let music = Reply::Music(Music {
            title: Some(dirty.into()),
            description: Some(dirty.into()),
            music_url: Some(dirty.into()),
            hq_music_url: Some(dirty.into()),
            thumb_media_id: dirty.into(),
        });
        let article = Article {
            title: dirty.into(),
            description: dirty.into(),
            pic_url: dirty.into(),
            url: dirty.into(),
        };
        for reply in [
            Reply::text(dirty),
            Reply::image(dirty),
            Reply::voice(dirty),
            Reply::Video {
                media_id: dirty.into(),
                title: Some(dirty.into()),
                description: Some(dirty.into()),
            },
            music,
            Reply::News(vec![article]),
            Reply::TransferCustomerService {
                kf_account: Some(dirty.into()),
            },
        ] {
            let xml = reply.to_xml(dirty, dirty, 1).unwrap();
            assert!(!xml.chars().any(is_forbidden_in_xml), "{xml:?}");
            assert!(xml.contains("<![CDATA[x\r\ny]]>"), "{xml:?}");
        }
    }

    #[test]
    fn strips_exactly_the_forbidden_characters() {
        let forbidden = [
            '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{e}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ];
        for c in forbidden {
            assert!(is_forbidden_in_xml(c), "{c:?}");
            assert_eq!(strip_forbidden(&format!("a{c}b")), "ab", "{c:?}");
        }
        let allowed = [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{7f}',
            '\u{85}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{f000}',
            '\u{fffd}',
            '\u{10000}',
            '\u{10ffff}',
        ];
        for c in allowed {
            assert!(!is_forbidden_in_xml(c), "{c:?}");
            let text = format!("a{c}b");
            assert!(
                matches!(strip_forbidden(&text), Cow::Borrowed(t) if t == text),
                "{c:?}"
            );
        }
        // Past the first 32-byte chunk, and in the remainder.
        let long = format!("{}\u{0}{}\u{ffff}z", "x".repeat(40), "y".repeat(30));
        assert_eq!(
            strip_forbidden(&long),
            format!("{}{}z", "x".repeat(40), "y".repeat(30))
        );
        assert_eq!(strip_forbidden("\0\u{1}"), "");
        assert!(matches!(
            strip_forbidden("plain, 中文 and \r\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_terminator_made_by_stripping_is_still_split() {
        let xml = Reply::text("]]\0>").to_xml("u", "gh", 1).unwrap();
        assert!(
            xml.contains("<Content><![CDATA[]]]]><![CDATA[>]]></Content>"),
            "{xml}"
        );
    }

    #[test]
    fn escapes_cdata_terminator_in_content() {
        let xml = Reply::text("a]]>b").to_xml("u", "gh", 1).unwrap();
        assert!(
            xml.contains("<Content><![CDATA[a]]]]><![CDATA[>b]]></Content>"),
            "{xml}"
        );
    }
}
