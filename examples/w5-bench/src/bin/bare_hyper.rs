//! `bare-hyper`: the ceiling of W5. A hyper 1 server that answers every request with the fixed
//! body `success`, without reading the request (hyper drains the small body for keep-alive).
//!
//! `ADDR=127.0.0.1:3001 cargo run --release -p w5-bench --bin bare-hyper`

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use w5_bench::{BoxError, addr_from_env, serve};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = addr_from_env()?;
    let service = service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"success"))))
    });
    serve("bare-hyper", addr, service).await?;
    Ok(())
}
