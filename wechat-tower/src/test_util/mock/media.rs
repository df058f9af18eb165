//! Temporary media (临时素材): `media/upload` (multipart), `media/get`.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header;
use serde_json::json;

use super::RecordedRequest;
use super::server::{Answer, Outcome, State, fail, unix_now};

/// A stored upload.
pub(super) struct Media {
    kind: String,
    content_type: String,
    filename: String,
    data: Bytes,
}

impl State {
    pub(super) fn media_upload(&mut self, req: &RecordedRequest) -> Outcome {
        let kind = req.query("type").unwrap_or_default().to_owned();
        if !matches!(kind.as_str(), "image" | "voice" | "video" | "thumb") {
            return Err(fail(40004));
        }
        let part = multipart_file(req, "media").ok_or_else(|| fail(41005))?;
        let media_id = format!("mock-media-{}", self.next());
        self.media.insert(
            media_id.clone(),
            Media {
                kind: kind.clone(),
                content_type: part.content_type,
                filename: part.filename,
                data: part.data,
            },
        );
        let id_field = if kind == "thumb" {
            "thumb_media_id"
        } else {
            "media_id"
        };
        Ok(Answer::Json(json!({
            "type": kind,
            id_field: media_id,
            "created_at": unix_now(),
        })))
    }

    pub(super) fn media_get(&self, req: &RecordedRequest) -> Outcome {
        let media_id = req.query("media_id").unwrap_or_default();
        let media = self.media.get(media_id).ok_or_else(|| fail(40007))?;
        if media.kind == "video" {
            return Ok(Answer::Json(json!({
                "video_url": format!("http://mock.weixin.qq.com/video/{media_id}"),
            })));
        }
        Ok(Answer::File {
            content_type: media.content_type.clone(),
            filename: media.filename.clone(),
            data: media.data.clone(),
        })
    }
}

/// One part of a `multipart/form-data` body.
pub(super) struct Part {
    pub(super) name: String,
    pub(super) filename: Option<String>,
    pub(super) content_type: String,
    pub(super) data: Bytes,
}

/// A file part: a [`Part`] with a file name.
pub(super) struct FilePart {
    pub(super) filename: String,
    pub(super) content_type: String,
    pub(super) data: Bytes,
}

/// The file part `name` of a `multipart/form-data` body.
pub(super) fn multipart_file(req: &RecordedRequest, name: &str) -> Option<FilePart> {
    multipart_parts(req)?
        .into_iter()
        .find(|p| p.name == name)
        .and_then(|p| {
            Some(FilePart {
                filename: p.filename?,
                content_type: p.content_type,
                data: p.data,
            })
        })
}

/// The text part `name` of a `multipart/form-data` body.
pub(super) fn multipart_text(req: &RecordedRequest, name: &str) -> Option<String> {
    let part = multipart_parts(req)?.into_iter().find(|p| p.name == name)?;
    String::from_utf8(part.data.to_vec()).ok()
}

/// Every part of a `multipart/form-data` body; `None` when it is not one (no boundary, no
/// closing delimiter, a part without headers).
pub(super) fn multipart_parts(req: &RecordedRequest) -> Option<Vec<Part>> {
    let content_type = req.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let body = &req.body[..];
    let mut rest = &body[memchr::memmem::find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = memchr::memmem::find(rest, format!("\r\n{delimiter}").as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + 2 + delimiter.len()..];
        let split = memchr::memmem::find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..split]).ok()?;
        let data = &part[split + 4..];
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        let mut part_type = "application/octet-stream".to_owned();
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    if let Some((k, v)) = param.trim().split_once('=') {
                        params.insert(k.to_owned(), v.trim_matches('"').to_owned());
                    }
                }
            } else if key.eq_ignore_ascii_case("content-type") {
                value.trim().clone_into(&mut part_type);
            }
        }
        parts.push(Part {
            name: params.remove("name")?,
            filename: params.remove("filename"),
            content_type: part_type,
            data: Bytes::copy_from_slice(data),
        });
    }
}
