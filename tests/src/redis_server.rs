//! A private `redis-server` for one test, on a free loopback port, stopped when dropped; and a
//! private three-node Redis Cluster ([`RedisCluster`]).
//!
//! Both skip (return `None` after a line on stderr) when `redis-server` is not installed, unless
//! `WECHAT_REQUIRE_REDIS` is set, as in CI, where a missing server fails the test instead.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set by `.ci/run`: a missing `redis-server` fails the Redis tests instead of skipping them.
pub(crate) const REQUIRE_ENV: &str = "WECHAT_REQUIRE_REDIS";

/// How long a server may take to accept connections after it is spawned.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running (or deliberately stopped) `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    /// `None` while stopped by [`RedisServer::stop`].
    child: Option<Child>,
    port: u16,
    /// Arguments beyond the defaults, given again on restart.
    extra: Vec<String>,
    /// The append-only file's folder of a durable server; removed on drop.
    dir: Option<PathBuf>,
}

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Spawns `redis-server` on `port` of 127.0.0.1, without persistence, plus `extra` arguments.
fn spawn(port: u16, extra: &[String]) -> std::io::Result<Child> {
    Command::new("redis-server")
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
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// `None` (after saying so) when the tool is missing and not required; panics when required.
fn skip_or_panic(what: &str, err: &std::io::Error) {
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{what} is required ({REQUIRE_ENV} is set) but cannot start: {err}"
    );
    eprintln!(
        "SKIPPED: {what} not available ({err}); install it (apt-get install -y redis-server) to run the Redis tests"
    );
}

/// The `process_id` of the Redis server answering on `port`, if one answers.
fn server_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        .ok()?;
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some(rest) = text.split("process_id:").nth(1)
            && let Some((pid, _)) = rest.split_once("\r\n")
        {
            return pid.trim().parse().ok();
        }
    }
}

/// Waits until `child` answers on `port`; `false` when it exited first (the port was taken,
/// for example by a server of a test running in parallel, which must not be mistaken for ours).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if server_pid(port) == Some(child.id()) {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns a server on a free port (another one if that one is taken meanwhile) with the
/// arguments `extra(port)`; `None` after the skip message when `redis-server` is missing.
fn spawn_ready(extra: impl Fn(u16) -> Vec<String>) -> Option<(Child, u16)> {
    for _ in 0..10 {
        let port = free_port();
        let mut child = match spawn(port, &extra(port)) {
            Ok(child) => child,
            Err(err) => {
                skip_or_panic("redis-server", &err);
                return None;
            }
        };
        if wait_ready(&mut child, port) {
            return Some((child, port));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server found no free port in 10 tries");
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
        Self::start_with(Vec::new(), None)
    }

    /// [`RedisServer::start`], but durable: every write goes to an append-only file (fsynced on
    /// each write), so the data survives [`RedisServer::stop`] (a kill, as a crash) and
    /// [`RedisServer::restart`], as in a production Redis with persistence.
    ///
    /// # Panics
    ///
    /// As [`RedisServer::start`].
    #[must_use]
    pub fn start_durable() -> Option<Self> {
        let dir = std::env::temp_dir().join(format!(
            "wechat-e2e-redis-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("redis temp dir");
        let extra = vec![
            "--dir".to_owned(),
            dir.display().to_string(),
            "--appendonly".to_owned(),
            "yes".to_owned(),
            "--appendfsync".to_owned(),
            "always".to_owned(),
        ];
        Self::start_with(extra, Some(dir))
    }

    fn start_with(extra: Vec<String>, dir: Option<PathBuf>) -> Option<Self> {
        let (child, port) = spawn_ready(|_| extra.clone())?;
        Some(Self {
            child: Some(child),
            port,
            extra,
            dir,
        })
    }

    /// The server's URL (the same after [`RedisServer::restart`]).
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's port on 127.0.0.1.
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server is running (not stopped by [`RedisServer::stop`]).
    #[must_use]
    pub const fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops the server now, with SIGKILL (to test what happens when Redis goes away). Its data
    /// is lost unless it was started with [`RedisServer::start_durable`]. Stopping a stopped
    /// server does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, so clients built with [`RedisServer::url`]
    /// reconnect to it; returns once it accepts connections. Restarting a running server stops
    /// it first. The new server starts empty, or, if durable, with the data written before.
    ///
    /// # Panics
    ///
    /// When the server cannot be started again (for example because another process took the
    /// port while it was stopped).
    pub fn restart(&mut self) {
        self.stop();
        let mut child = spawn(self.port, &self.extra).expect("redis-server restarts");
        assert!(
            wait_ready(&mut child, self.port),
            "redis-server cannot restart on port {}: taken meanwhile",
            self.port
        );
        self.child = Some(child);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A private three-node Redis Cluster on loopback (three masters, no replicas, all 16 384 slots
/// assigned), torn down when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    /// Holds each node's `nodes.conf`; removed on drop.
    dir: PathBuf,
}

impl RedisCluster {
    /// Number of master nodes.
    pub const NODES: usize = 3;

    /// Starts three `redis-server --cluster-enabled yes` nodes on free loopback ports, joins them
    /// with `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, and waits until every
    /// node reports `cluster_state:ok`.
    ///
    /// Returns `None`, after saying so on stderr, when `redis-server` or `redis-cli` is missing,
    /// unless `WECHAT_REQUIRE_REDIS` is set, in which case it panics (as [`RedisServer::start`]).
    ///
    /// # Panics
    ///
    /// When the cluster cannot be created or does not become healthy within 20 seconds.
    #[must_use]
    pub fn start() -> Option<Self> {
        if let Err(err) = Command::new("redis-cli")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
        {
            skip_or_panic("redis-cli", &err);
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "wechat-e2e-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("cluster temp dir");
        let mut cluster = Self {
            nodes: Vec::new(),
            ports: Vec::new(),
            dir,
        };
        for _ in 0..Self::NODES {
            let dir = cluster.dir.display().to_string();
            // The cluster bus gets its own free port (Redis' default, port + 10 000, may be taken
            // or out of range).
            let node = spawn_ready(|port| {
                vec![
                    "--cluster-enabled".to_owned(),
                    "yes".to_owned(),
                    "--cluster-port".to_owned(),
                    free_port().to_string(),
                    "--cluster-config-file".to_owned(),
                    format!("{dir}/nodes-{port}.conf"),
                    "--dir".to_owned(),
                    dir.clone(),
                ]
            });
            let (child, port) = node?;
            cluster.nodes.push(child);
            cluster.ports.push(port);
        }
        let addrs: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in &cluster.ports {
            loop {
                let info = Command::new("redis-cli")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &port.to_string(),
                        "cluster",
                        "info",
                    ])
                    .stdin(Stdio::null())
                    .output()
                    .expect("redis-cli runs");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster node {port} did not reach cluster_state:ok"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(cluster)
    }

    /// The nodes' URLs (`redis://127.0.0.1:<port>/`), to seed a cluster client.
    #[must_use]
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect()
    }

    /// The nodes' ports on 127.0.0.1.
    #[must_use]
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
