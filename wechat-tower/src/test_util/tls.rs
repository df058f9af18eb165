//! A loopback TLS front that **requires a client certificate** (mutual TLS), for testing what
//! WeChat Pay's v2 `secapi` calls (refunds) demand: [`TlsFront`] listens on `127.0.0.1`, serves
//! TLS with the test server certificate (`keys/server_cert.pem`, for `127.0.0.1` and
//! `localhost`), accepts only client certificates signed by the test CA (`keys/ca_cert.pem`,
//! rustls' `WebPkiClientVerifier`), and forwards the decrypted bytes to a plain address, so
//! any mock (a [`MockPay`](super::mock_pay::MockPay), a server of a test's own) can be put
//! behind mutual TLS without changing it. It records which client certificate each accepted
//! connection showed and counts the handshakes it refused.
//!
//! The test key material is public ([`keys`]): nothing it signs proves anything outside tests.
//!
//! ```
//! use wechat_tower::client::{HttpTransport, Transport};
//! use wechat_tower::test_util::tls::{TlsFront, keys};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await?; // any plain server
//! let front = TlsFront::start(backend.local_addr()?).await?;
//! let transport = HttpTransport::builder()
//!     .add_root_certificate_pem(keys::CA_CERT_PEM)?
//!     .client_certificate_pem(keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM)?
//!     .build()?;
//! // Requests to front.base_url() now reach `backend` over mutual TLS.
//! # let _ = (Transport::new(transport), front.base_url()); Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The test key material of the mocks, from `test_util/keys/` (see its README): public, for
/// tests only.
pub mod keys {
    /// The CA behind the merchant certificate and the TLS server certificate.
    pub const CA_CERT_PEM: &str = include_str!("keys/ca_cert.pem");
    /// The merchant API certificate (商户API证书, `apiclient_cert.pem`), serial
    /// [`MERCHANT_CERT_SERIAL`].
    pub const MERCHANT_CERT_PEM: &str = include_str!("keys/merchant_cert.pem");
    /// Its private key (`apiclient_key.pem`), PKCS#8.
    pub const MERCHANT_KEY_PEM: &str = include_str!("keys/merchant_key.pem");
    /// The same certificate and key as `apiclient_cert.p12` (PBES2, AES-256-CBC, SHA-256 MAC),
    /// password [`MERCHANT_P12_PASSWORD`].
    pub const MERCHANT_P12: &[u8] = include_bytes!("keys/merchant_cert.p12");
    /// The password of [`MERCHANT_P12`]: the merchant id, as WeChat does.
    pub const MERCHANT_P12_PASSWORD: &str = "1900000109";
    /// The serial of [`MERCHANT_CERT_PEM`], upper-case hex.
    pub const MERCHANT_CERT_SERIAL: &str = "444F4E545553455448495345524941";
    /// The TLS server certificate of a mock on loopback (`IP:127.0.0.1`, `DNS:localhost`).
    pub const SERVER_CERT_PEM: &str = include_str!("keys/server_cert.pem");
    /// Its private key.
    pub const SERVER_KEY_PEM: &str = include_str!("keys/server_key.pem");
    /// A client certificate from another CA (self-signed): must be refused.
    pub const STRANGER_CERT_PEM: &str = include_str!("keys/stranger_cert.pem");
    /// Its private key.
    pub const STRANGER_KEY_PEM: &str = include_str!("keys/stranger_key.pem");
}

/// How long a client may take to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client certificate a [`TlsFront`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// The subject, RFC 4514 (`CN=1900000109,OU=1900000109,O=…,C=CN`).
    pub subject: String,
    /// The serial number, upper-case hex without leading zeros (WeChat's way of writing it).
    pub serial: String,
    /// The whole certificate, DER.
    pub der: Vec<u8>,
}

#[derive(Debug, Default)]
struct Seen {
    accepted: Mutex<Vec<ClientCertificate>>,
    refused: AtomicUsize,
}

/// A mutual-TLS front on loopback that forwards to a plain address. Stops (and drops its
/// connections) when dropped. See the [module docs](self).
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

/// Settings of a [`TlsFront`]. See [`TlsFront::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TlsFrontBuilder {
    backend: SocketAddr,
    tls12_only: bool,
}

impl TlsFrontBuilder {
    /// Speak TLS 1.2 only (default: 1.2 and 1.3). In TLS 1.2 a refused client certificate
    /// fails the handshake itself; in 1.3 the client learns it from an alert after sending its
    /// request.
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }

    /// Starts the front on a free port of `127.0.0.1`.
    ///
    /// # Errors
    ///
    /// As [`TlsFront::start`].
    pub async fn start(self) -> std::io::Result<TlsFront> {
        TlsFront::start_with(self).await
    }
}

impl TlsFront {
    /// A front forwarding to `backend` (a loopback address), to configure.
    pub fn builder(backend: SocketAddr) -> TlsFrontBuilder {
        TlsFrontBuilder {
            backend,
            tls12_only: false,
        }
    }

    /// Starts a front on a free port of `127.0.0.1`, forwarding to `backend` (a loopback
    /// address), requiring client certificates signed by [`keys::CA_CERT_PEM`].
    ///
    /// # Errors
    ///
    /// When `backend` is not a loopback address, when no loopback port can be bound, or when
    /// the test keys do not load.
    pub async fn start(backend: SocketAddr) -> std::io::Result<Self> {
        Self::builder(backend).start().await
    }

    async fn start_with(settings: TlsFrontBuilder) -> std::io::Result<Self> {
        let backend = settings.backend;
        if !backend.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "TlsFront forwards to loopback addresses only",
            ));
        }
        let acceptor = TlsAcceptor::from(Arc::new(server_config(settings.tls12_only)?));
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Seen::default());
        let task = tokio::spawn(serve(listener, acceptor, backend, Arc::clone(&seen)));
        Ok(Self { addr, seen, task })
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`: the `api_base` of a client that goes through it.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The client certificate of every connection it accepted, oldest first (a pooled
    /// connection that carries many requests counts once).
    #[must_use]
    pub fn client_certificates(&self) -> Vec<ClientCertificate> {
        self.seen
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many handshakes it refused (no client certificate, one from another CA, a client
    /// that does not trust the server, a timeout, not TLS at all).
    #[must_use]
    pub fn refused(&self) -> usize {
        self.seen.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn other(err: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(err.to_string())
}

/// TLS 1.2 and 1.3 (or 1.2 only) with the test server certificate; a client certificate
/// signed by the test CA is mandatory.
fn server_config(tls12_only: bool) -> std::io::Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(keys::CA_CERT_PEM.as_bytes()).map_err(other)?;
    roots.add(ca).map_err(other)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(other)?;
    let chain = CertificateDer::pem_slice_iter(keys::SERVER_CERT_PEM.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    let key = PrivateKeyDer::from_pem_slice(keys::SERVER_KEY_PEM.as_bytes()).map_err(other)?;
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(other)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(other)
}

/// Accepts until aborted; each connection in a `JoinSet` that dies with the task.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, backend: SocketAddr, seen: Arc<Seen>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (acceptor, seen) = (acceptor.clone(), Arc::clone(&seen));
        connections.spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            let Ok(Ok(mut tls)) = handshake else {
                seen.refused.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let Some(cert) = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(<[_]>::first)
                .map(describe)
            else {
                // The verifier makes a certificate mandatory: not reached.
                seen.refused.fetch_add(1, Ordering::SeqCst);
                return;
            };
            seen.accepted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(cert);
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}

/// Subject and serial of a certificate the verifier accepted (so it parses).
fn describe(der: &CertificateDer<'_>) -> ClientCertificate {
    use x509_cert::der::Decode as _;
    let (subject, serial) = match x509_cert::Certificate::from_der(der.as_ref()) {
        Ok(cert) => {
            let tbs = cert.tbs_certificate;
            let bytes = tbs.serial_number.as_bytes();
            let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
            let serial = bytes[start..].iter().map(|b| format!("{b:02X}")).collect();
            (tbs.subject.to_string(), serial)
        }
        Err(_) => (String::new(), String::new()),
    };
    ClientCertificate {
        subject,
        serial,
        der: der.as_ref().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_config_loads_the_test_keys() {
        server_config(false).unwrap();
        server_config(true).unwrap();
    }

    #[test]
    fn describes_the_merchant_certificate() {
        let der = CertificateDer::from_pem_slice(keys::MERCHANT_CERT_PEM.as_bytes()).unwrap();
        let cert = describe(&der);
        assert_eq!(cert.serial, keys::MERCHANT_CERT_SERIAL);
        assert!(cert.subject.contains("CN=1900000109"), "{}", cert.subject);
    }

    #[tokio::test]
    async fn forwards_only_to_loopback() {
        let err = TlsFront::start("192.0.2.1:80".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
