//! A private `redis-server` for one test, on a free loopback port, stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set by `.ci/run`: a missing `redis-server` fails the Redis tests instead of skipping them.
pub(crate) const REQUIRE_ENV: &str = "WECHAT_REQUIRE_REDIS";

/// A running `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts `redis-server` on a free port of 127.0.0.1, without persistence.
    ///
    /// Returns `None`, after saying so on stderr, when `redis-server` is not installed, unless
    /// `WECHAT_REQUIRE_REDIS` is set (as in CI), in which case it panics: a Redis test must not pass
    /// without Redis.
    ///
    /// # Panics
    ///
    /// When the server cannot be started (or is missing and required).
    #[must_use]
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let spawned = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) if std::env::var_os(REQUIRE_ENV).is_none() => {
                eprintln!(
                    "SKIPPED: redis-server not available ({err}); install it (apt-get install -y redis-server) to run the Redis tests"
                );
                return None;
            }
            Err(err) => {
                panic!("redis-server is required ({REQUIRE_ENV} is set) but cannot start: {err}")
            }
        };
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// The server's URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Stops the server now (to test what happens when Redis goes away).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
