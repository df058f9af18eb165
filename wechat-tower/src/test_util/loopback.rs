//! The one loopback server of the mocks ([`MockWechat`](super::mock::MockWechat) and
//! [`MockPay`](super::mock_pay::MockPay)): bind, the accept loop (HTTP/1), the body limit, and
//! stopping when dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A server on a loopback listener, answering every request with one function; it stops (and
/// drops its connections) when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Binds `addr` and serves it with `handle` on the current tokio runtime.
    pub(crate) async fn start<F, Fut>(addr: SocketAddr, handle: F) -> std::io::Result<Self>
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            task: tokio::spawn(serve(listener, handle)),
        })
    }

    /// Where it listens (with the port the OS chose for port 0).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The body of a request, if it is at most `max` bytes and arrives whole.
pub(crate) async fn read_body(body: Incoming, max: usize) -> Option<Bytes> {
    Limited::new(body, max)
        .collect()
        .await
        .ok()
        .map(http_body_util::Collected::to_bytes)
}

/// Serves every connection of `listener` with `handle` until the task running it is aborted.
/// Connections live in a `JoinSet`: aborting the task (dropping the [`Server`]) drops the set,
/// which aborts them all.
async fn serve<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: wait, do not spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = handle(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
