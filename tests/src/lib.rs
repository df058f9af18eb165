//! Support for the end-to-end tests: real servers on 127.0.0.1 and a client that speaks to them
//! the way WeChat does.
//!
//! WeChat signs every push with the account's token, and in safe mode encrypts the body; the
//! requests come from [`wechat_tower::test_util::Simulator`], and travel over real TCP.

pub mod browser;
mod redis_server;

pub use redis_server::{RedisCluster, RedisServer};

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Service;

/// Serves `service` with axum on an ephemeral loopback port; returns the address.
///
/// # Panics
///
/// When no loopback port can be bound.
pub async fn spawn_axum<S>(service: S) -> SocketAddr
where
    S: Service<Request<axum::body::Body>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let app = axum::Router::new().route_service("/wechat", service);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Serves `service` with plain hyper 1 (no axum) on an ephemeral loopback port.
///
/// # Panics
///
/// When no loopback port can be bound.
pub async fn spawn_hyper<S>(service: S) -> SocketAddr
where
    S: Service<
            Request<hyper::body::Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    addr
}

/// Sends one request over a new TCP connection to `addr`; returns status and body.
///
/// # Panics
///
/// When the server cannot be reached.
pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let (mut parts, body) = req.into_parts();
    parts
        .headers
        .insert(http::header::HOST, "127.0.0.1".parse().expect("host"));
    let res = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .expect("request");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}
