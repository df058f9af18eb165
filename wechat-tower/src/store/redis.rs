//! A store in Redis (one node or a Redis Cluster), shared by every process of a deployment
//! (feature `redis`).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

use super::{Store, StoreError};

/// Compare-and-delete, atomic on the server: the holder-checked release of a lock.
const DELETE_IF_EQUALS: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
else
    return 0
end
"#;

/// Compare-and-set, atomic on the server: the holder-checked renewal of a lock. `ARGV[3]` is the
/// TTL in milliseconds, or empty for none.
const REPLACE_IF_EQUALS: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
    if ARGV[3] == "" then
        redis.call("SET", KEYS[1], ARGV[2])
    else
        redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
    end
    return 1
else
    return 0
end
"#;

/// A [`Store`] in Redis, for deployments with many processes: `SET … NX PX` takes a lock, and Lua
/// compare-and-set and compare-and-delete scripts renew and release it. Keys can share a prefix
/// to live beside other data.
///
/// One node ([`RedisStore::connect`]) or a Redis Cluster ([`RedisStore::connect_cluster`]), behind
/// the same type.
///
/// - **Timeouts**: every operation is bounded by the store's timeout
///   ([`RedisStore::DEFAULT_TIMEOUT`], or [`RedisStore::connect_with_timeout`]) and answers
///   [`StoreError::Timeout`] when it elapses, so a slow or silent Redis turns into an error, never
///   a hang.
/// - **Reconnection**: when Redis goes away, calls fail fast with [`StoreError::Unavailable`]
///   (or time out); the connection is re-established in the background, and calls succeed again
///   once Redis is back, without rebuilding the store (the `redis` crate's `ConnectionManager`
///   for one node; the cluster connection reconnects to each node and refreshes its slot map).
/// - **Cluster and hash tags**: every operation, the Lua scripts included, touches one key, so
///   any key works on a cluster. Keys that one multi-key command or script must reach together
///   have to live in one slot: put the common part in a hash tag, `{…}`, e.g.
///   `dedup:{<msg key>}:claim` and `dedup:{<msg key>}:reply`, since only the part inside the first
///   `{…}` is hashed. Do not put a hash tag in the [`prefix`](RedisStore::prefix) (`{myapp}:`)
///   unless you want every key on one node.
///
/// ```no_run
/// # async fn demo() -> Result<(), wechat_tower::store::StoreError> {
/// use wechat_tower::store::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.prefix("myapp:");
/// let cluster = RedisStore::connect_cluster(&[
///     "redis://127.0.0.1:7000/",
///     "redis://127.0.0.1:7001/",
///     "redis://127.0.0.1:7002/",
/// ])
/// .await?
/// .prefix("myapp:");
/// # let _ = (store, cluster); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
    timeout: Duration,
    replace_if_equals: redis::Script,
    delete_if_equals: redis::Script,
}

/// One node or a cluster; both clone cheaply (a handle on a shared multiplexed connection).
#[derive(Clone)]
enum Conn {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Node(_) => "node",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: &redis::RedisError) -> StoreError {
    if err.is_timeout() {
        StoreError::Timeout
    } else {
        StoreError::Unavailable(err.to_string())
    }
}

/// Runs `fut`, bounded by `timeout`.
async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| StoreError::Timeout)?
        .map_err(|e| unavailable(&e))
}

impl RedisStore {
    /// Default bound on connecting and on every operation: a store that does not answer must
    /// turn into an error, never a hang.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to `url` (`redis://host:port/db`), giving up after
    /// [`RedisStore::DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] for a bad URL or a refused connection,
    /// [`StoreError::Timeout`] when the server does not answer in time.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Self::DEFAULT_TIMEOUT).await
    }

    /// [`RedisStore::connect`] with another bound on connecting and on every operation.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::connect`].
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn = bounded(timeout, ConnectionManager::new_with_config(client, config)).await?;
        Ok(Self::with(Conn::Node(conn), timeout))
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://host:port/` each; the
    /// others are discovered), giving up after [`RedisStore::DEFAULT_TIMEOUT`]. See the type's
    /// docs for keys and hash tags.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::connect`]; also [`StoreError::Unavailable`] for an empty list.
    pub async fn connect_cluster(urls: &[&str]) -> Result<Self, StoreError> {
        Self::connect_cluster_with_timeout(urls, Self::DEFAULT_TIMEOUT).await
    }

    /// [`RedisStore::connect_cluster`] with another bound on connecting and on every operation.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::connect_cluster`].
    pub async fn connect_cluster_with_timeout(
        urls: &[&str],
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        if urls.is_empty() {
            return Err(StoreError::Unavailable(
                "no Redis Cluster node given".to_owned(),
            ));
        }
        let client = ClusterClient::builder(urls.iter().copied())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(3)
            .build()
            .map_err(|e| unavailable(&e))?;
        let conn = bounded(timeout, client.get_async_connection()).await?;
        Ok(Self::with(Conn::Cluster(conn), timeout))
    }

    fn with(conn: Conn, timeout: Duration) -> Self {
        Self {
            conn,
            prefix: String::new(),
            timeout,
            replace_if_equals: redis::Script::new(REPLACE_IF_EQUALS),
            delete_if_equals: redis::Script::new(DELETE_IF_EQUALS),
        }
    }

    /// Prefixes every key, e.g. `myapp:`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on every operation.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether this store talks to a Redis Cluster.
    #[must_use]
    pub const fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        match &self.conn {
            Conn::Node(conn) => bounded(self.timeout, cmd.query_async(&mut conn.clone())).await,
            Conn::Cluster(conn) => bounded(self.timeout, cmd.query_async(&mut conn.clone())).await,
        }
    }

    async fn invoke(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<u64, StoreError> {
        match &self.conn {
            Conn::Node(conn) => {
                bounded(self.timeout, invocation.invoke_async(&mut conn.clone())).await
            }
            Conn::Cluster(conn) => {
                bounded(self.timeout, invocation.invoke_async(&mut conn.clone())).await
            }
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    // Redis refuses PX 0; a sub-millisecond TTL rounds up to one millisecond.
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Store for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let value: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(self.key(key))).await?;
        Ok(value.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value.as_ref());
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        self.run::<()>(&cmd).await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value.as_ref()).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        let reply: Option<String> = self.run(&cmd).await?;
        Ok(reply.is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let removed: u64 = self.run(redis::cmd("DEL").arg(self.key(key))).await?;
        Ok(removed > 0)
    }

    async fn replace_if_equals(
        &self,
        key: &str,
        expected: &[u8],
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.replace_if_equals.key(self.key(key));
        invocation
            .arg(expected)
            .arg(value.as_ref())
            .arg(ttl.map(|ttl| millis(ttl).to_string()).unwrap_or_default());
        Ok(self.invoke(&invocation).await? > 0)
    }

    async fn delete_if_equals(&self, key: &str, expected: &[u8]) -> Result<bool, StoreError> {
        let mut invocation = self.delete_if_equals.key(self.key(key));
        invocation.arg(expected);
        Ok(self.invoke(&invocation).await? > 0)
    }
}
