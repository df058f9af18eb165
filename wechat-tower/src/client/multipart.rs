//! Streamed `multipart/form-data` uploads (RFC 7578): what `media/upload`,
//! `material/add_material` and `media/uploadimg` take.
//!
//! An [`Upload`] is a file part's source: bytes in memory, a file path, or any
//! [`AsyncRead`]. The body is produced as it is sent — the part headers, the source's chunks
//! (64 KiB at most), the closing boundary — so a 20 MiB video never sits whole in memory. Its
//! `Content-Length` is known when the source's length is (bytes, files: their metadata),
//! otherwise it goes chunked.
//!
//! The token retry (40001/40014/42001: replace the token, send once more) needs the body a
//! second time: bytes are cloned, a path is reopened, but a reader is read once and cannot be
//! replayed — it gets no retry (the refused token is still replaced, so the next call works).
//! Buffering it for a retry would defeat the point of streaming; give a path when the retry
//! matters.
//!
//! The client's time limit ([`WechatClientBuilder::timeout`](super::WechatClientBuilder::timeout),
//! 10 s by default) bounds the whole upload: raise it for large files on slow links. A
//! transport without a request-streaming face (see [`Transport`](super::Transport)) still
//! works, but collects the body in memory first.
//!
//! ```no_run
//! use wechat_tower::client::{MediaType, Upload};
//!
//! # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
//! // Read while it is sent; reopened if WeChat refuses the token.
//! let added = client
//!     .material()
//!     .add(MediaType::Image, Upload::path("poster.jpg"))
//!     .await?;
//! println!("{} at {:?}", added.media_id, added.url);
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::io::{AsyncRead, ReadBuf};

use super::error::ClientError;
use super::transport::TransportBody;
use crate::body::BoxError;

/// The largest chunk read from a source at once: the most of a file held in memory.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The source of an uploaded file: its bytes, a file, or a reader, with the file name and
/// content type the form gives it. See the [module docs](self).
pub struct Upload {
    filename: String,
    content_type: String,
    source: Source,
}

enum Source {
    Bytes(Bytes),
    Path(PathBuf),
    /// Taken when it is read: a reader is read once.
    Reader {
        reader: Option<Pin<Box<dyn AsyncRead + Send>>>,
        len: Option<u64>,
    },
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Bytes(b) => format!("bytes({})", b.len()),
            Source::Path(p) => format!("path({})", p.display()),
            Source::Reader { reader, len } => format!(
                "reader(len: {len:?}{})",
                if reader.is_some() { "" } else { ", read" }
            ),
        };
        f.debug_struct("Upload")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("source", &source)
            .finish()
    }
}

impl Upload {
    /// Bytes already in memory (replayable: the token retry sends them again).
    #[must_use]
    pub fn bytes(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        Self {
            filename: filename.into(),
            content_type: content_type.into(),
            source: Source::Bytes(data.into()),
        }
    }

    /// The file at `path`, opened when the request is sent and read as it is sent
    /// (replayable: reopened for the token retry). Its name is the path's file name and its
    /// content type follows the extension (`jpg`, `png`, `gif`, `bmp`, `mp3`, `amr`, `mp4`;
    /// else `application/octet-stream`); change them with [`filename`](Self::filename) and
    /// [`content_type`](Self::content_type).
    #[must_use]
    pub fn path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let filename = path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
        let content_type = content_type_of(&filename).to_owned();
        Self {
            filename,
            content_type,
            source: Source::Path(path),
        }
    }

    /// Any reader, read once as the request is sent: NOT replayable, so a call refused for its
    /// token is not retried (see the [module docs](self)). `len`, when known, becomes the
    /// `Content-Length` (and a reader that ends early or runs over fails the upload); `None`
    /// sends the body chunked.
    #[must_use]
    pub fn reader<R>(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        reader: R,
        len: Option<u64>,
    ) -> Self
    where
        R: AsyncRead + Send + 'static,
    {
        Self {
            filename: filename.into(),
            content_type: content_type.into(),
            source: Source::Reader {
                reader: Some(Box::pin(reader)),
                len,
            },
        }
    }

    /// The file name the form gives the part (WeChat checks its extension).
    #[must_use]
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = filename.into();
        self
    }

    /// The part's `Content-Type`.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Whether the body can be produced again for the token retry (bytes and paths; a reader
    /// cannot).
    #[must_use]
    pub fn is_replayable(&self) -> bool {
        !matches!(self.source, Source::Reader { .. })
    }
}

/// The content type of a file name's extension, for the types WeChat takes.
fn content_type_of(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "mp3" => "audio/mpeg",
        "amr" => "audio/amr",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A form of text fields and one file part, sent as a stream; [`UploadForm::body`] produces
/// the body once per send.
#[derive(Debug)]
pub(crate) struct UploadForm {
    boundary: String,
    fields: Vec<(String, String)>,
    field: String,
    upload: Upload,
}

/// One body of an [`UploadForm`]: its `Content-Type` (with the boundary), its length when
/// known, and the stream.
pub(crate) struct FormBody {
    pub(crate) content_type: HeaderValue,
    pub(crate) length: Option<u64>,
    pub(crate) body: TransportBody,
}

impl UploadForm {
    /// A form whose file part is `field`, from `upload`.
    pub(crate) fn new(field: &str, upload: Upload) -> Self {
        Self {
            boundary: boundary(),
            fields: Vec::new(),
            field: field.to_owned(),
            upload,
        }
    }

    /// Adds a text field (sent before the file).
    pub(crate) fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.push((name.to_owned(), value.into()));
        self
    }

    /// Whether [`body`](Self::body) can be called again after a first body.
    pub(crate) fn is_replayable(&self) -> bool {
        self.upload.is_replayable()
    }

    /// `multipart/form-data; boundary=…`.
    fn content_type(&self) -> HeaderValue {
        // The boundary is ASCII letters, digits and dashes.
        HeaderValue::from_str(&format!("multipart/form-data; boundary={}", self.boundary))
            .unwrap_or_else(|_| HeaderValue::from_static("multipart/form-data"))
    }

    /// The part headers and text fields before the file's bytes.
    fn head(&self) -> Bytes {
        let mut head = BytesMut::with_capacity(512);
        for (name, value) in &self.fields {
            open_part(
                &mut head,
                &self.boundary,
                &format!("name=\"{}\"", quote(name)),
            );
            head.put_slice(b"\r\n");
            head.put_slice(value.as_bytes());
            head.put_slice(b"\r\n");
        }
        open_part(
            &mut head,
            &self.boundary,
            &format!(
                "name=\"{}\"; filename=\"{}\"",
                quote(&self.field),
                quote(&self.upload.filename)
            ),
        );
        head.put_slice(b"Content-Type: ");
        head.put_slice(quote(&self.upload.content_type).as_bytes());
        head.put_slice(b"\r\n\r\n");
        head.freeze()
    }

    fn tail(&self) -> Bytes {
        Bytes::from(format!("\r\n--{}--\r\n", self.boundary))
    }

    /// The body, produced as it is polled; `None` when the source was a reader that is already
    /// read (no replay).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when the file cannot be opened or its length read.
    pub(crate) async fn body(&mut self) -> Result<Option<FormBody>, ClientError> {
        // Bytes: the (random) boundary must not occur in them or in a field; draw another.
        if let Source::Bytes(data) = &self.upload.source {
            while memchr::memmem::find(data, self.boundary.as_bytes()).is_some()
                || self
                    .fields
                    .iter()
                    .any(|(_, v)| v.contains(self.boundary.as_str()))
            {
                self.boundary = boundary();
            }
        }
        let (head, tail) = (self.head(), self.tail());
        let (reader, len): (Pin<Box<dyn AsyncRead + Send>>, Option<u64>) =
            match &mut self.upload.source {
                Source::Bytes(data) => {
                    let len = data.len() as u64;
                    (Box::pin(std::io::Cursor::new(data.clone())), Some(len))
                }
                Source::Path(path) => {
                    let file = tokio::fs::File::open(&*path).await.map_err(|e| {
                        ClientError::Request(format!("cannot open {}: {e}", path.display()))
                    })?;
                    let len = file
                        .metadata()
                        .await
                        .map_err(|e| ClientError::Request(format!("{}: {e}", path.display())))?
                        .len();
                    (Box::pin(file), Some(len))
                }
                Source::Reader { reader, len } => match reader.take() {
                    Some(reader) => (reader, *len),
                    None => return Ok(None),
                },
            };
        let length = len.map(|len| head.len() as u64 + len + tail.len() as u64);
        let body = StreamedForm {
            head: Some(head),
            reader: Some(reader),
            buf: BytesMut::new(),
            expected: len,
            read: 0,
            tail: Some(tail),
        };
        Ok(Some(FormBody {
            content_type: self.content_type(),
            length,
            body: body.boxed_unsync(),
        }))
    }
}

/// 128 random bits from the OS CSPRNG as hex: an attacker who controls a streamed file cannot
/// guess it to end the part early (a file is not scanned before it is sent; bytes are).
fn boundary() -> String {
    let mut random = [0u8; 16];
    if getrandom::fill(&mut random).is_err() {
        // Only on platforms without an OS generator; mix the clock in so boundaries vary.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        random = nanos.to_le_bytes();
    }
    let mut out = String::with_capacity(48);
    out.push_str("----wechat-tower-");
    for b in random {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn open_part(buf: &mut BytesMut, boundary: &str, disposition: &str) {
    buf.put_slice(b"--");
    buf.put_slice(boundary.as_bytes());
    buf.put_slice(b"\r\nContent-Disposition: form-data; ");
    buf.put_slice(disposition.as_bytes());
    buf.put_slice(b"\r\n");
}

/// A header parameter value with the characters that would end it escaped (as browsers do).
fn quote(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Why a streamed upload stopped: the source did not match the length it declared.
#[derive(Debug)]
struct LengthMismatch {
    expected: u64,
    read: u64,
}

impl std::fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "upload source changed size while it was sent: {} bytes declared, {} read{}",
            self.expected,
            self.read,
            if self.read > self.expected {
                " so far"
            } else {
                ""
            }
        )
    }
}

impl std::error::Error for LengthMismatch {}

/// The body of an [`UploadForm`]: head, the reader's chunks, tail.
struct StreamedForm {
    head: Option<Bytes>,
    reader: Option<Pin<Box<dyn AsyncRead + Send>>>,
    buf: BytesMut,
    expected: Option<u64>,
    read: u64,
    tail: Option<Bytes>,
}

impl http_body::Body for StreamedForm {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if let Some(reader) = this.reader.as_mut() {
            // Initialised memory (the crate forbids `unsafe`): one chunk, reused while pending.
            this.buf.resize(CHUNK, 0);
            let mut read_buf = ReadBuf::new(&mut this.buf[..]);
            match reader.as_mut().poll_read(cx, &mut read_buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.reader = None;
                    this.tail = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Ok(())) => {
                    let n = read_buf.filled().len();
                    this.read += n as u64;
                    if let Some(expected) = this.expected
                        && (this.read > expected || (n == 0 && this.read != expected))
                    {
                        this.reader = None;
                        this.tail = None;
                        return Poll::Ready(Some(Err(Box::new(LengthMismatch {
                            expected,
                            read: this.read,
                        }))));
                    }
                    if n > 0 {
                        this.buf.truncate(n);
                        return Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))));
                    }
                    this.reader = None;
                    this.buf = BytesMut::new();
                }
            }
        }
        Poll::Ready(this.tail.take().map(|tail| Ok(Frame::data(tail))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.reader.is_none() && self.tail.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let framing = self.head.as_ref().map_or(0, Bytes::len) as u64
            + self.tail.as_ref().map_or(0, Bytes::len) as u64;
        match (self.reader.is_some(), self.expected) {
            (false, _) => SizeHint::with_exact(framing),
            (true, Some(expected)) => {
                SizeHint::with_exact(framing + expected.saturating_sub(self.read))
            }
            (true, None) => {
                let mut hint = SizeHint::new();
                hint.set_lower(framing);
                hint
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(form: &mut UploadForm) -> (HeaderValue, Option<u64>, Result<Bytes, BoxError>) {
        let body = form.body().await.unwrap().unwrap();
        let bytes = body.body.collect().await.map(|c| c.to_bytes());
        (body.content_type, body.length, bytes)
    }

    fn boundary_of(content_type: &HeaderValue) -> String {
        content_type
            .to_str()
            .unwrap()
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn multipart_bodies_are_well_formed_with_their_length() {
        let mut form = UploadForm::new(
            "media",
            Upload::bytes("a\"b\r\n.png", "image/png", &b"PNGDATA"[..]),
        )
        .text("description", "{\"title\":\"t\"}");
        let (content_type, length, body) = collect(&mut form).await;
        let boundary = boundary_of(&content_type);
        let body = body.unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{{\"title\":\"t\"}}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a%22b%0D%0A.png\"\r\n\
             Content-Type: image/png\r\n\r\nPNGDATA\r\n--{boundary}--\r\n"
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
        assert_eq!(length, Some(body.len() as u64));
    }

    #[tokio::test]
    async fn boundaries_are_random_and_never_inside_the_bytes() {
        assert_ne!(boundary(), boundary());
        // The attacker's file holds the boundary the form drew: the form draws another.
        let mut form = UploadForm::new("media", Upload::bytes("x", "text/plain", Bytes::new()));
        let drawn = form.boundary.clone();
        let hostile = format!("\r\n--{drawn}--\r\n");
        form.upload = Upload::bytes("x", "text/plain", hostile.clone());
        let (content_type, _, body) = collect(&mut form).await;
        let used = boundary_of(&content_type);
        assert_ne!(used, drawn);
        assert!(!hostile.contains(&used));
        let body = body.unwrap();
        assert_eq!(
            memchr::memmem::find_iter(&body, format!("--{used}").as_bytes()).count(),
            2
        );
    }

    #[tokio::test]
    async fn a_reader_is_read_once_and_a_path_is_reopened() {
        let mut form = UploadForm::new(
            "media",
            Upload::reader("a.amr", "audio/amr", &b"AMR"[..], None),
        );
        assert!(!form.is_replayable());
        let (_, length, body) = collect(&mut form).await;
        assert_eq!(length, None);
        assert!(body.unwrap().windows(3).any(|w| w == b"AMR"));
        assert!(form.body().await.unwrap().is_none());

        let path = std::env::temp_dir().join(format!("wechat-tower-reopen-{}.jpg", boundary()));
        std::fs::write(&path, b"JPEGDATA").unwrap();
        let mut form = UploadForm::new("media", Upload::path(&path));
        assert!(form.is_replayable());
        for _ in 0..2 {
            let (_, length, body) = collect(&mut form).await;
            let body = body.unwrap();
            assert_eq!(length, Some(body.len() as u64));
            assert!(body.windows(8).any(|w| w == b"JPEGDATA"));
            assert!(
                body.windows(22).any(|w| w == b"Content-Type: image/jp"),
                "{body:?}"
            );
        }
        std::fs::remove_file(&path).unwrap();
        let err = form.body().await.err().unwrap();
        assert!(matches!(err, ClientError::Request(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_reader_that_lies_about_its_length_fails_the_upload() {
        // Declared longer than it is (a truncated file), and shorter (a file still growing).
        for (data, declared) in [(&b"SHORT"[..], 10), (&b"TOO LONG FOR IT"[..], 3)] {
            let mut form = UploadForm::new(
                "media",
                Upload::reader("v.mp4", "video/mp4", data, Some(declared)),
            );
            let (_, length, body) = collect(&mut form).await;
            assert!(length.is_some());
            let err = body.unwrap_err();
            assert!(err.to_string().contains("changed size"), "{err}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_of("A.JPG"), "image/jpeg");
        assert_eq!(content_type_of("v.mp4"), "video/mp4");
        assert_eq!(content_type_of("noext"), "application/octet-stream");
        let upload = Upload::path("/tmp/x/voice.amr").filename("y.mp3");
        assert_eq!(upload.filename, "y.mp3");
        assert_eq!(upload.content_type, "audio/amr");
        assert!(format!("{upload:?}").contains("path("));
    }
}
