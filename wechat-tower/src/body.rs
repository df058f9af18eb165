//! Reading request and response bodies into memory, with a cap.

use std::future::poll_fn;
use std::pin::pin;

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Body;

use crate::rejection::Rejection;

/// A boxed error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The `Content-Length` a message announces, when it has a readable one.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Reads a whole body of at most `limit` bytes. `Content-Length` is checked first, so an
/// announced oversize body is refused before a byte of it is read.
///
/// A body of one data frame (hyper's usual small request, and every `Full` body the layers hand
/// each other) comes back as that frame's `Bytes`, without a copy or an allocation; only a body
/// in several frames is gathered into one buffer.
pub(crate) async fn read_limited<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if content_length(headers).is_some_and(|len| len > limit as u64) {
        return Err(Rejection::BodyTooLarge);
    }
    let mut body = pin!(body);
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| Rejection::BodyUnreadable)?;
        // Trailers carry nothing WeChat sends; skip them.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let len = data.remaining();
        total = total.saturating_add(len);
        if total > limit {
            return Err(Rejection::BodyTooLarge);
        }
        if len == 0 {
            continue;
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data.copy_to_bytes(len)),
            (Some(head), None) => {
                let mut buf = BytesMut::with_capacity(total);
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data.copy_to_bytes(len));
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data.copy_to_bytes(len)),
        }
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;
    use http_body_util::Full;

    use super::*;

    /// A body delivered in the given frames.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Frames {
        fn data(parts: &[&'static str]) -> Self {
            Self(
                parts
                    .iter()
                    .map(|p| Frame::data(Bytes::from_static(p.as_bytes())))
                    .collect(),
            )
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    #[tokio::test]
    async fn one_frame_comes_back_without_a_copy() {
        let body = Bytes::from_static(b"<xml/>");
        let read = read_limited(&HeaderMap::new(), Full::new(body.clone()), 64)
            .await
            .unwrap();
        assert_eq!(read, body);
        assert_eq!(read.as_ptr(), body.as_ptr(), "the frame itself");
    }

    #[tokio::test]
    async fn frames_are_gathered_in_order() {
        let read = read_limited(
            &HeaderMap::new(),
            Frames::data(&["<xml>", "", "<a/>", "</xml>"]),
            64,
        )
        .await
        .unwrap();
        assert_eq!(read, "<xml><a/></xml>");
        let empty = read_limited(&HeaderMap::new(), Frames::data(&[]), 64)
            .await
            .unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn the_limit_holds_across_frames_and_at_its_edge() {
        let at_limit = read_limited(&HeaderMap::new(), Frames::data(&["1234", "5678"]), 8).await;
        assert_eq!(at_limit.unwrap(), "12345678");
        let over = read_limited(&HeaderMap::new(), Frames::data(&["1234", "5678", "9"]), 8).await;
        assert!(matches!(over, Err(Rejection::BodyTooLarge)));
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from_static("9"),
        );
        let announced = read_limited(&headers, Frames::data(&["1"]), 8).await;
        assert!(matches!(announced, Err(Rejection::BodyTooLarge)));
    }
}
