//! Orders in SQL: SQLite (an embedded file, the default: no server to install) or PostgreSQL
//! (`DATABASE_URL=postgres://…`), one implementation over `sqlx::AnyPool` and one set of
//! migrations (`migrations/`, embedded in the binary and run at start).
//!
//! Every rule that moves money is a conditional statement the database checks, inside the
//! transaction that moves it: an order becomes paid by `UPDATE … WHERE state = 'unpaid' AND
//! total_fee = …` (so two deliveries of one notification cannot both pay it, nor credit a
//! top-up twice), and a refund is reserved by `UPDATE … WHERE refund_reserved + amount <=
//! total_fee` (so concurrent refunds cannot add up to more than was paid). Both databases
//! re-check such a `WHERE` on the row they lock, so these hold across processes too.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

use crate::orders::{
    Item, MarkError, Order, OrderState, Orders, RefundRecord, RefundState, UNPAID_GRACE, now_secs,
    top_up_credit,
};

/// `DATABASE_URL` when unset: `pay-demo.db` in the working directory, created (with its
/// tables) on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://pay-demo.db?mode=rwc";

/// An SQLite database in memory, gone when the app is dropped: [`Settings::new`]'s default
/// (tests). Each app gets its own.
///
/// [`Settings::new`]: crate::Settings::new
pub const MEMORY_DATABASE_URL: &str = "sqlite::memory:";

/// The migrations, in order: `(version, description, SQL)`. Each file is SQL both SQLite and
/// PostgreSQL accept. Embedded, so the binary runs from any directory; a test checks that each
/// file of `migrations/` is listed here.
pub const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "orders", include_str!("../migrations/0001_orders.sql"))];

/// How long a request waits for a database connection before it fails (and a notification
/// answers FAIL, so WeChat Pay delivers it again).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The database behind a [`SqlOrders`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite: a file, or memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names: `sqlite:…`, or `postgres://…` / `postgresql://…`.
    ///
    /// # Errors
    ///
    /// Any other scheme.
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err("DATABASE_URL: expected sqlite:… or postgres://…".into())
        }
    }
}

/// Whether `url` is an SQLite database in memory, which lives as long as its one connection.
fn is_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// The embedded [`MIGRATIONS`], as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

fn unavailable(err: &sqlx::Error) -> MarkError {
    MarkError::Unavailable(err.to_string())
}

/// Fen or seconds as the database stores them (BIGINT).
fn to_db(n: u64) -> Result<i64, MarkError> {
    i64::try_from(n).map_err(|_| MarkError::Unavailable(format!("{n} is out of range")))
}

/// A BIGINT the `CHECK`s keep at 0 or more.
fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

const ORDER_COLUMNS: &str = "id, openid, item_kind, product_id, total_fee, state, transaction_id, credit, expires_at, refunded_fee";

fn order_of(row: &AnyRow) -> Result<Order, sqlx::Error> {
    let item = match row.try_get::<String, _>("item_kind")?.as_str() {
        "top_up" => Item::TopUp,
        _ => Item::Product {
            product_id: row
                .try_get::<Option<String>, _>("product_id")?
                .unwrap_or_default(),
        },
    };
    let state = match row.try_get::<String, _>("state")?.as_str() {
        "paid" => OrderState::Paid,
        "refunded" => OrderState::Refunded,
        _ => OrderState::Unpaid,
    };
    Ok(Order {
        id: row.try_get("id")?,
        state,
        item,
        total_fee: from_db(row.try_get("total_fee")?),
        credit: row.try_get::<Option<i64>, _>("credit")?.map(from_db),
        transaction_id: row.try_get("transaction_id")?,
        expires_at: from_db(row.try_get("expires_at")?),
        refunded_fee: from_db(row.try_get("refunded_fee")?),
        openid: row.try_get("openid")?,
    })
}

const fn state_str(state: OrderState) -> &'static str {
    match state {
        OrderState::Unpaid => "unpaid",
        OrderState::Paid => "paid",
        OrderState::Refunded => "refunded",
    }
}

/// Orders, top-up balances and refunds in SQLite or PostgreSQL (see the module docs). Cheap to
/// clone: the pool is shared.
#[derive(Debug, Clone)]
pub struct SqlOrders {
    pool: AnyPool,
    backend: Backend,
    max_unpaid: usize,
}

impl SqlOrders {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), runs the migrations not run yet, and
    /// keeps at most `max_unpaid` unpaid orders. An SQLite file is switched to WAL (readers do
    /// not wait for a writer); an SQLite memory database keeps its single connection open for
    /// as long as the store lives (a second connection would see another, empty database).
    ///
    /// # Errors
    ///
    /// [`MarkError::Unavailable`]: a bad URL, a database that cannot be reached or opened, a
    /// migration that failed.
    pub async fn connect(url: &str, max_unpaid: usize) -> Result<Self, MarkError> {
        let backend = Backend::of_url(url).map_err(MarkError::Unavailable)?;
        sqlx::any::install_default_drivers();
        let options = if is_memory(url) {
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(8)
        };
        let pool = options
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| unavailable(&e))?;
        if backend == Backend::Sqlite && !is_memory(url) {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        let orders = Self {
            pool,
            backend,
            max_unpaid,
        };
        orders.migrate().await?;
        Ok(orders)
    }

    /// Runs the [`MIGRATIONS`] not run yet (recorded in the table `_sqlx_migrations`).
    ///
    /// # Errors
    ///
    /// [`MarkError::Unavailable`] when one fails, or was changed after it ran.
    pub async fn migrate(&self) -> Result<(), MarkError> {
        let migrator = Migrator::new(Embedded)
            .await
            .map_err(|e| MarkError::Unavailable(format!("migrations: {e}")))?;
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| MarkError::Unavailable(format!("migrations: {e}")))
    }

    /// The database behind it.
    #[must_use]
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, to run queries of your own (reports, a test's checks).
    #[must_use]
    pub const fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection: from then on each call fails with
    /// [`MarkError::Unavailable`] (a database outage, in tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The top-up balance of `openid`, in fen: the sum of [`top_up_credit`] of its paid
    /// top-ups, less what refunds took back.
    ///
    /// # Errors
    ///
    /// When the database fails.
    pub async fn balance(&self, openid: &str) -> Result<u64, MarkError> {
        let balance: Option<i64> =
            sqlx::query_scalar("SELECT balance FROM balances WHERE openid = $1")
                .bind(openid)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| unavailable(&e))?;
        Ok(balance.map_or(0, from_db))
    }

    /// How many orders are kept, paid or not.
    ///
    /// # Errors
    ///
    /// When the database fails.
    pub async fn order_count(&self) -> Result<u64, MarkError> {
        self.count("SELECT COUNT(*) FROM orders").await
    }

    /// How many unpaid orders are kept (expired ones included until the next `create`).
    ///
    /// # Errors
    ///
    /// When the database fails.
    pub async fn unpaid_count(&self) -> Result<u64, MarkError> {
        self.count("SELECT COUNT(*) FROM orders WHERE state = 'unpaid'")
            .await
    }

    async fn count(&self, sql: &'static str) -> Result<u64, MarkError> {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(from_db(n))
    }

    /// Adds `credit` fen to the balance of `openid`, in `tx`.
    async fn credit(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        openid: &str,
        credit: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO balances (openid, balance) VALUES ($1, $2) \
             ON CONFLICT (openid) DO UPDATE SET balance = balances.balance + excluded.balance",
        )
        .bind(openid)
        .bind(credit)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

#[async_trait::async_trait]
impl Orders for SqlOrders {
    async fn create(&self, order: Order) -> Result<(), MarkError> {
        let now = now_secs();
        // Unpaid orders whose time_expire passed longer than the grace ago: WeChat Pay takes
        // no payment for them any more, and a late notification has had its time.
        sqlx::query("DELETE FROM orders WHERE state = 'unpaid' AND expires_at < $1")
            .bind(to_db(now.saturating_sub(UNPAID_GRACE.as_secs()))?)
            .execute(&self.pool)
            .await
            .map_err(|e| unavailable(&e))?;
        if order.state == OrderState::Unpaid {
            // A soft cap (two concurrent creates may both pass it by one): it bounds what
            // unpaid orders can take, not a count anyone relies on.
            let unpaid = self.unpaid_count().await?;
            if usize::try_from(unpaid).unwrap_or(usize::MAX) >= self.max_unpaid {
                return Err(MarkError::TooManyUnpaid);
            }
        }
        let (kind, product_id) = match &order.item {
            Item::TopUp => ("top_up", None),
            Item::Product { product_id } => ("product", Some(product_id.clone())),
        };
        let inserted = sqlx::query(
            "INSERT INTO orders (id, openid, item_kind, product_id, total_fee, state, \
             transaction_id, credit, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&order.id)
        .bind(&order.openid)
        .bind(kind)
        .bind(product_id)
        .bind(to_db(order.total_fee)?)
        .bind(state_str(order.state))
        .bind(order.transaction_id.clone())
        .bind(order.credit.map(to_db).transpose()?)
        .bind(to_db(order.expires_at)?)
        .bind(to_db(now)?)
        .execute(&self.pool)
        .await
        .map_err(|e| unavailable(&e))?
        .rows_affected();
        if inserted == 0 {
            return Err(MarkError::Duplicate(order.id));
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Order>, MarkError> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable(&e))?;
        row.as_ref()
            .map(order_of)
            .transpose()
            .map_err(|e| unavailable(&e))
    }

    async fn mark_paid(
        &self,
        id: &str,
        total_fee: u64,
        transaction_id: &str,
    ) -> Result<(), MarkError> {
        // An amount beyond BIGINT matches no order: the read-back below names the mismatch.
        let fee = i64::try_from(total_fee).unwrap_or(-1);
        let credit = i64::try_from(top_up_credit(total_fee)).unwrap_or(0);
        let mut tx = self.pool.begin().await.map_err(|e| unavailable(&e))?;
        // The one statement that pays an order: only an unpaid one, only for its amount. The
        // write comes first, so SQLite takes its write lock before anything is read.
        let paid = sqlx::query(
            "UPDATE orders SET state = 'paid', transaction_id = $1, paid_at = $2, \
             credit = CASE WHEN item_kind = 'top_up' THEN $5 ELSE NULL END \
             WHERE id = $3 AND state = 'unpaid' AND total_fee = $4 \
             RETURNING openid, credit",
        )
        .bind(transaction_id)
        .bind(to_db(now_secs())?)
        .bind(id)
        .bind(fee)
        .bind(credit)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?;
        if let Some(row) = paid {
            let openid: String = row.try_get("openid").map_err(|e| unavailable(&e))?;
            let credited: Option<i64> = row.try_get("credit").map_err(|e| unavailable(&e))?;
            if let Some(credited) = credited {
                Self::credit(&mut tx, &openid, credited)
                    .await
                    .map_err(|e| unavailable(&e))?;
            }
            // Paid only once this commits; an error before leaves the order unpaid.
            return tx.commit().await.map_err(|e| unavailable(&e));
        }
        tx.rollback().await.map_err(|e| unavailable(&e))?;
        // Nothing changed: say why.
        let Some(order) = self.get(id).await? else {
            return Err(MarkError::Unknown(id.to_owned()));
        };
        if order.total_fee != total_fee {
            return Err(MarkError::AmountMismatch {
                expected: order.total_fee,
                notified: total_fee,
            });
        }
        match (order.state, order.transaction_id.as_deref()) {
            (OrderState::Paid | OrderState::Refunded, Some(t)) if t == transaction_id => Ok(()),
            (OrderState::Paid | OrderState::Refunded, _) => Err(MarkError::OtherTransaction),
            // Unpaid, of this amount, yet not updated: it was purged and created again in
            // between (never, with random ids). Let WeChat Pay deliver again.
            (OrderState::Unpaid, _) => Err(MarkError::Unavailable(
                "the order changed meanwhile; try again".into(),
            )),
        }
    }

    async fn reserve_refund(
        &self,
        id: &str,
        out_refund_no: &str,
        amount: u64,
    ) -> Result<(), MarkError> {
        let amount_db = i64::try_from(amount).unwrap_or(-1);
        let mut tx = self.pool.begin().await.map_err(|e| unavailable(&e))?;
        // One conditional statement: the reservations of an order never exceed what was paid,
        // however many refunds run at once.
        let reserved = sqlx::query(
            "UPDATE orders SET refund_reserved = refund_reserved + $1 \
             WHERE id = $2 AND state IN ('paid', 'refunded') AND $1 > 0 \
             AND refund_reserved + $1 <= total_fee \
             RETURNING openid, item_kind",
        )
        .bind(amount_db)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?;
        let Some(row) = reserved else {
            tx.rollback().await.map_err(|e| unavailable(&e))?;
            let row = sqlx::query(
                "SELECT state, total_fee - refund_reserved AS refund_left FROM orders WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable(&e))?;
            let Some(row) = row else {
                return Err(MarkError::Unknown(id.to_owned()));
            };
            let state: String = row.try_get("state").map_err(|e| unavailable(&e))?;
            if state == "unpaid" {
                return Err(MarkError::NotPaid);
            }
            let left: i64 = row.try_get("refund_left").map_err(|e| unavailable(&e))?;
            return Err(MarkError::RefundTooLarge {
                left: from_db(left),
            });
        };
        let inserted = sqlx::query(
            "INSERT INTO refunds (out_refund_no, order_id, amount, state, created_at) \
             VALUES ($1, $2, $3, 'asked', $4) ON CONFLICT (out_refund_no) DO NOTHING",
        )
        .bind(out_refund_no)
        .bind(id)
        .bind(amount_db)
        .bind(to_db(now_secs())?)
        .execute(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.map_err(|e| unavailable(&e))?;
            return Err(MarkError::Duplicate(out_refund_no.to_owned()));
        }
        let kind: String = row.try_get("item_kind").map_err(|e| unavailable(&e))?;
        if kind == "top_up" {
            let openid: String = row.try_get("openid").map_err(|e| unavailable(&e))?;
            // The credit goes back first: a balance already spent is not refunded twice.
            let taken = sqlx::query(
                "UPDATE balances SET balance = balance - $1 WHERE openid = $2 AND balance >= $1",
            )
            .bind(amount_db)
            .bind(&openid)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable(&e))?
            .rows_affected();
            if taken == 0 {
                let balance: Option<i64> =
                    sqlx::query_scalar("SELECT balance FROM balances WHERE openid = $1")
                        .bind(&openid)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|e| unavailable(&e))?;
                tx.rollback().await.map_err(|e| unavailable(&e))?;
                return Err(MarkError::BalanceSpent {
                    balance: balance.map_or(0, from_db),
                });
            }
        }
        tx.commit().await.map_err(|e| unavailable(&e))
    }

    async fn release_refund(&self, id: &str, out_refund_no: &str) -> Result<(), MarkError> {
        let mut tx = self.pool.begin().await.map_err(|e| unavailable(&e))?;
        let released: Option<i64> = sqlx::query_scalar(
            "UPDATE refunds SET state = 'released', done_at = $3 \
             WHERE out_refund_no = $1 AND order_id = $2 AND state = 'asked' RETURNING amount",
        )
        .bind(out_refund_no)
        .bind(id)
        .bind(to_db(now_secs())?)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?;
        let Some(amount) = released else {
            // Nothing reserved (any more): nothing to give back.
            return tx.rollback().await.map_err(|e| unavailable(&e));
        };
        let row = sqlx::query(
            "UPDATE orders SET refund_reserved = refund_reserved - $1 WHERE id = $2 \
             RETURNING openid, item_kind",
        )
        .bind(amount)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?;
        let kind: String = row.try_get("item_kind").map_err(|e| unavailable(&e))?;
        if kind == "top_up" {
            let openid: String = row.try_get("openid").map_err(|e| unavailable(&e))?;
            Self::credit(&mut tx, &openid, amount)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        tx.commit().await.map_err(|e| unavailable(&e))
    }

    async fn mark_refunded(
        &self,
        id: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Result<(), MarkError> {
        let fee = i64::try_from(refund_fee).unwrap_or(-1);
        let mut tx = self.pool.begin().await.map_err(|e| unavailable(&e))?;
        // Once per refund: only an asked refund, of this order and amount, becomes succeeded.
        let done = sqlx::query(
            "UPDATE refunds SET state = 'succeeded', done_at = $4 \
             WHERE out_refund_no = $1 AND order_id = $2 AND amount = $3 AND state = 'asked'",
        )
        .bind(out_refund_no)
        .bind(id)
        .bind(fee)
        .bind(to_db(now_secs())?)
        .execute(&mut *tx)
        .await
        .map_err(|e| unavailable(&e))?
        .rows_affected();
        if done == 1 {
            sqlx::query(
                "UPDATE orders SET refunded_fee = refunded_fee + $1, state = 'refunded' \
                 WHERE id = $2",
            )
            .bind(fee)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable(&e))?;
            return tx.commit().await.map_err(|e| unavailable(&e));
        }
        tx.rollback().await.map_err(|e| unavailable(&e))?;
        if self.get(id).await?.is_none() {
            return Err(MarkError::Unknown(id.to_owned()));
        }
        let already: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM refunds WHERE out_refund_no = $1 AND order_id = $2 \
             AND amount = $3 AND state = 'succeeded'",
        )
        .bind(out_refund_no)
        .bind(id)
        .bind(fee)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| unavailable(&e))?;
        if already == 1 {
            Ok(())
        } else {
            Err(MarkError::UnknownRefund(out_refund_no.to_owned()))
        }
    }

    async fn refunds(&self, id: &str) -> Result<Vec<RefundRecord>, MarkError> {
        let rows = sqlx::query(
            "SELECT out_refund_no, amount, state FROM refunds WHERE order_id = $1 \
             ORDER BY created_at, out_refund_no",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| unavailable(&e))?;
        rows.iter()
            .map(|row| {
                let state = match row.try_get::<String, _>("state")?.as_str() {
                    "succeeded" => RefundState::Succeeded,
                    "released" => RefundState::Released,
                    _ => RefundState::Asked,
                };
                Ok(RefundRecord {
                    out_refund_no: row.try_get("out_refund_no")?,
                    amount: from_db(row.try_get("amount")?),
                    state,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| unavailable(&e))
    }
}
