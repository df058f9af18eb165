//! Shared pieces of the W5 benchmark binaries (`shared/bench/WORKLOADS.md`, workload W5):
//!
//! - [`Fixture`]: the fixture's credentials and bytes, embedded at build time;
//! - [`serve`]: one hyper 1 accept loop, so that `bare-hyper`, `raw-pipeline` and `stack-bot` are
//!   measured with the same HTTP settings (one tokio runtime with a worker per core, HTTP/1.1
//!   keep-alive, `TCP_NODELAY`);
//! - [`addr_from_env`] and [`env_or`]: the environment variables of the examples (`ADDR`, ...);
//! - [`connect`]: one keep-alive HTTP/1.1 client connection, for `w5-load` and the soak.
//!
//! See the README beside this crate for the binaries and `run.sh`.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One HTTP/1.1 client connection to `authority` (`host:port`), `TCP_NODELAY` set, driven by a
/// task of its own; requests go through the returned sender, one at a time.
///
/// # Errors
///
/// The connection or the handshake failed (named in the message).
pub async fn connect(
    authority: &str,
) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The error type of the binaries' `main`.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// `fixture.json` of `shared/bench` (the copy beside the wechat-core benches, linked as
/// `examples/w5-bench/fixture.json` so that the package holds it too), embedded.
pub const FIXTURE_JSON: &str = include_str!("../fixture.json");

/// The fields of the W5 fixture.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The token of the callback configuration.
    pub token: String,
    /// The 43-character EncodingAESKey.
    pub encoding_aes_key: String,
    /// The app id carried at the end of every ciphertext.
    pub appid: String,
    /// The sender's OpenID (`FromUserName` of the message; the reply's `ToUserName`).
    pub openid: String,
    /// The safe-mode inbound body.
    pub encrypted_body: String,
    /// The query of the safe-mode push (`signature`, ..., `msg_signature`).
    pub query: String,
    /// The content the text handler must echo.
    pub reply_content: String,
}

impl Fixture {
    /// The embedded fixture.
    ///
    /// # Errors
    ///
    /// When the embedded JSON lacks one of the fields (it cannot, unless the file changes shape).
    pub fn embedded() -> Result<Self, BoxError> {
        Self::parse(FIXTURE_JSON)
    }

    /// Reads a fixture from its JSON text.
    ///
    /// # Errors
    ///
    /// When the text is not JSON or lacks one of the string fields.
    pub fn parse(json: &str) -> Result<Self, BoxError> {
        let v: serde_json::Value = serde_json::from_str(json)?;
        let field = |name: &str| -> Result<String, BoxError> {
            v.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("fixture without the string field {name}").into())
        };
        Ok(Self {
            token: field("token")?,
            encoding_aes_key: field("encoding_aes_key")?,
            appid: field("appid")?,
            openid: field("openid")?,
            encrypted_body: field("encrypted_body")?,
            query: field("query")?,
            reply_content: field("reply_content")?,
        })
    }
}

/// The value of the environment variable `name`, or `default` when it is unset or empty.
#[must_use]
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The listening address from `ADDR` (default `127.0.0.1:3000`).
///
/// # Errors
///
/// When `ADDR` is not an `ip:port`.
pub fn addr_from_env() -> Result<SocketAddr, BoxError> {
    let addr = env_or("ADDR", "127.0.0.1:3000");
    addr.parse()
        .map_err(|e| format!("ADDR={addr} is not an ip:port: {e}").into())
}

/// Serves `service` on `addr` over HTTP/1.1 until the process is killed: one task per connection,
/// keep-alive, `TCP_NODELAY`. Prints the address it listens on to stderr.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn serve<S, B>(name: &str, addr: SocketAddr, service: S) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind(addr).await?;
    eprintln!("{name} listening on http://{}", listener.local_addr()?);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("{name}: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Latency matters more than packet count for small request/response pairs.
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            // A client closing mid-request is not the server's business in a benchmark.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fixture_loads() {
        let fx = Fixture::embedded().expect("fixture");
        assert_eq!(fx.token, "test_token");
        assert_eq!(fx.encoding_aes_key.len(), 43);
        assert!(fx.query.contains("msg_signature="));
    }

    /// `post.lua` embeds the fixture's query and body: they must not drift apart.
    #[test]
    fn post_lua_sends_the_fixture() {
        let fx = Fixture::embedded().expect("fixture");
        let lua = include_str!("../post.lua");
        assert!(lua.contains(&format!("\"/wechat?{}\"", fx.query)), "query");
        assert!(
            lua.contains(&format!("[==[{}]==]", fx.encrypted_body)),
            "body"
        );
    }
}
