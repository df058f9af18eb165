//! WeChat Pay (微信支付) on axum, JSAPI flow: the page asks for an order, the server places it
//! with unified order (统一下单) and answers the signed pay parameters, the page opens WeChat's
//! pay sheet, and WeChat Pay's notification (支付结果通知) marks the order paid: once, and only
//! for the right amount.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | an H5 page: creates an order and calls `WeixinJSBridge.invoke('getBrandWCPayRequest', pay_params)` inside WeChat (and says so outside it) |
//! | `POST /orders` `{"openid", "total_fee", "body"}` | unified order; answers `{"id", "pay_params": {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}}` |
//! | `GET /orders/{id}` | `{"id", "state": "unpaid" \| "paid", "total_fee", "transaction_id"}` |
//! | `POST /pay/notify` | the notify URL: [`PayNotify`] with the [`paid`] handler |
//!
//! Orders live in memory ([`MemoryOrders`]) unless you give [`app_with`] your own [`Orders`].
//! Settings come from the environment (see [`Settings::from_env`]).

use std::collections::HashMap;
use std::env;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use wechat_tower::core::pay::{
    JsapiPayParams, PayErrorKind, SignType, TradeType, UnifiedOrder, nonce_str,
};
use wechat_tower::pay::{Paid, PayClient, PayClientError, PayConfig, PayNotify};
use wechat_tower::store::{MemoryStore, RedisStore, Store};
use wechat_tower::wechat_handler;

/// The demo's settings, from the environment variables of DESIGN.md.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `PUBLIC_URL`: how WeChat Pay and browsers reach this server, default `http://<ADDR>`. The
    /// notify URL registered with each order is `PUBLIC_URL` + `/pay/notify`.
    pub public_url: String,
    /// `WECHAT_APPID` (default: the mock's, `wxmock0000000001`).
    pub appid: String,
    /// `WECHAT_PAY_MCH_ID` (商户号; default: the mock's, `1900000109`).
    pub mch_id: String,
    /// `WECHAT_PAY_KEY` (API密钥; default: the mock's).
    pub key: String,
    /// `WECHAT_PAY_SIGN_TYPE`: `MD5` (default) or `HMAC-SHA256`.
    pub sign_type: SignType,
    /// `WECHAT_PAY_API_BASE`, default `https://api.mch.weixin.qq.com`.
    pub api_base: String,
    /// `REDIS_URL`: where the records of handled notifications live, shared by every process
    /// of the demo; unset means memory.
    pub redis_url: Option<String>,
    /// `WECHAT_PAY_API_V3_KEY`, `WECHAT_PAY_PUBLIC_KEY_ID` and `WECHAT_PAY_PUBLIC_KEY_FILE`
    /// (PEM): accept v3 notifications too.
    pub v3: Option<(String, String, String)>,
}

impl Settings {
    /// Reads `ADDR`, `PUBLIC_URL`, `WECHAT_APPID`, `WECHAT_PAY_MCH_ID`, `WECHAT_PAY_KEY`,
    /// `WECHAT_PAY_SIGN_TYPE`, `WECHAT_PAY_API_BASE`, `REDIS_URL`, and the optional v3 ones.
    ///
    /// # Errors
    ///
    /// A message naming the variable that is wrong.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
        let addr: SocketAddr = var("ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
            .parse()
            .map_err(|e| format!("ADDR: {e}"))?;
        let sign_type = match var("WECHAT_PAY_SIGN_TYPE") {
            Some(t) => t
                .parse()
                .map_err(|e| format!("WECHAT_PAY_SIGN_TYPE: {e}"))?,
            None => SignType::Md5,
        };
        let v3 = match (
            var("WECHAT_PAY_API_V3_KEY"),
            var("WECHAT_PAY_PUBLIC_KEY_ID"),
            var("WECHAT_PAY_PUBLIC_KEY_FILE"),
        ) {
            (Some(key), Some(id), Some(file)) => {
                let pem = std::fs::read_to_string(&file)
                    .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE {file}: {e}"))?;
                Some((key, id, pem))
            }
            (None, None, None) => None,
            _ => {
                return Err("v3 notifications need WECHAT_PAY_API_V3_KEY, WECHAT_PAY_PUBLIC_KEY_ID and WECHAT_PAY_PUBLIC_KEY_FILE together".into());
            }
        };
        Ok(Self {
            addr,
            public_url: var("PUBLIC_URL")
                .unwrap_or_else(|| format!("http://{addr}"))
                .trim_end_matches('/')
                .to_owned(),
            appid: var("WECHAT_APPID").unwrap_or_else(|| "wxmock0000000001".to_owned()),
            mch_id: var("WECHAT_PAY_MCH_ID").unwrap_or_else(|| "1900000109".to_owned()),
            key: var("WECHAT_PAY_KEY")
                .unwrap_or_else(|| "mockpaykey0123456789abcdefghijkl".to_owned()),
            sign_type,
            api_base: var("WECHAT_PAY_API_BASE")
                .unwrap_or_else(|| wechat_tower::pay::DEFAULT_PAY_API_BASE.to_owned()),
            redis_url: var("REDIS_URL"),
            v3,
        })
    }

    /// The settings for a merchant, with the other settings at their defaults (tests).
    #[must_use]
    pub fn new(appid: &str, mch_id: &str, key: &str, api_base: &str, addr: SocketAddr) -> Self {
        Self {
            addr,
            public_url: format!("http://{addr}"),
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            key: key.to_owned(),
            sign_type: SignType::Md5,
            api_base: api_base.to_owned(),
            redis_url: None,
            v3: None,
        }
    }

    /// The notify URL registered with each order: `PUBLIC_URL` + `/pay/notify`.
    #[must_use]
    pub fn notify_url(&self) -> String {
        format!("{}/pay/notify", self.public_url)
    }

    /// The pay configuration of these settings.
    ///
    /// # Errors
    ///
    /// When the v3 public key is not a PEM RSA public key.
    pub fn pay_config(&self) -> Result<PayConfig, String> {
        let mut config =
            PayConfig::new(&self.appid, &self.mch_id, &self.key).sign_type(self.sign_type);
        if let Some((key, id, pem)) = &self.v3 {
            config = config
                .api_v3_key(key)
                .wechatpay_public_key(id, pem)
                .map_err(|e| format!("WECHAT_PAY_PUBLIC_KEY_FILE: {e}"))?;
        }
        Ok(config)
    }
}

/// Whether an order was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    /// Not paid (yet).
    Unpaid,
    /// Paid: a verified notification with the right amount arrived.
    Paid,
}

/// An order of the demo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The `out_trade_no`.
    pub id: String,
    /// `unpaid` or `paid`.
    pub state: OrderState,
    /// The amount in fen (分).
    pub total_fee: u64,
    /// WeChat Pay's `transaction_id`, once paid.
    pub transaction_id: Option<String>,
    /// The payer.
    #[serde(skip)]
    pub openid: String,
}

/// Why an order could not be marked paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkError {
    /// No such order.
    Unknown(String),
    /// The notification's amount is not the order's.
    AmountMismatch {
        /// The order's amount.
        expected: u64,
        /// The notification's.
        notified: u64,
    },
    /// The order was paid by another transaction.
    OtherTransaction,
    /// The order store failed (a database outage, ...).
    Unavailable(String),
}

impl std::fmt::Display for MarkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "no order {id}"),
            Self::AmountMismatch { expected, notified } => {
                write!(
                    f,
                    "amount mismatch: the order is {expected} fen, the notification says {notified}"
                )
            }
            Self::OtherTransaction => f.write_str("the order was paid by another transaction"),
            Self::Unavailable(why) => write!(f, "order store unavailable: {why}"),
        }
    }
}

/// Where orders live. [`MemoryOrders`] is the default; a real shop keeps them in its database
/// and makes [`Orders::mark_paid`] one conditional update.
pub trait Orders: Send + Sync + 'static {
    /// Saves a new, unpaid order.
    ///
    /// # Errors
    ///
    /// When the store fails.
    fn create(&self, order: Order) -> Result<(), MarkError>;

    /// The order `id`.
    fn get(&self, id: &str) -> Option<Order>;

    /// Marks `id` paid by `transaction_id` if `total_fee` is its amount; paying a paid order
    /// again with the same transaction changes nothing.
    ///
    /// # Errors
    ///
    /// [`MarkError`].
    fn mark_paid(&self, id: &str, total_fee: u64, transaction_id: &str) -> Result<(), MarkError>;
}

/// Orders in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryOrders {
    orders: Mutex<HashMap<String, Order>>,
}

impl Orders for MemoryOrders {
    fn create(&self, order: Order) -> Result<(), MarkError> {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(order.id.clone(), order);
        Ok(())
    }

    fn get(&self, id: &str) -> Option<Order> {
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn mark_paid(&self, id: &str, total_fee: u64, transaction_id: &str) -> Result<(), MarkError> {
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let order = orders
            .get_mut(id)
            .ok_or_else(|| MarkError::Unknown(id.to_owned()))?;
        if order.total_fee != total_fee {
            return Err(MarkError::AmountMismatch {
                expected: order.total_fee,
                notified: total_fee,
            });
        }
        match (&order.state, &order.transaction_id) {
            (OrderState::Paid, Some(t)) if t == transaction_id => Ok(()),
            (OrderState::Paid, _) => Err(MarkError::OtherTransaction),
            (OrderState::Unpaid, _) => {
                order.state = OrderState::Paid;
                order.transaction_id = Some(transaction_id.to_owned());
                Ok(())
            }
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct Shop {
    /// The orders.
    pub orders: Arc<dyn Orders>,
    /// The pay client.
    pub client: PayClient,
    /// The notify URL of new orders.
    pub notify_url: String,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("client", &self.client)
            .field("notify_url", &self.notify_url)
            .finish_non_exhaustive()
    }
}

/// The notify handler: checks the amount against the order and marks it paid. An `Err` answers
/// WeChat Pay FAIL, so it delivers the notification again (after an outage of the order store,
/// for instance); [`PayNotify`] calls this once per `transaction_id`.
#[wechat_handler(pay = "notify")]
pub async fn paid(
    payment: Paid,
    wechat_tower::State(shop): wechat_tower::State<Shop>,
) -> Result<(), MarkError> {
    if !payment.is_success() {
        tracing::info!(
            order = payment.out_trade_no(),
            "payment failed; order stays unpaid"
        );
        return Ok(());
    }
    shop.orders.mark_paid(
        payment.out_trade_no(),
        payment.total_fee(),
        payment.transaction_id(),
    )?;
    tracing::info!(
        order = payment.out_trade_no(),
        transaction_id = payment.transaction_id(),
        "order paid"
    );
    Ok(())
}

/// The app with orders in memory, and the notification records in Redis when `REDIS_URL` is
/// set.
///
/// # Errors
///
/// A message for settings that cannot work (a bad API base, Redis unreachable, ...).
pub async fn app(settings: &Settings) -> Result<axum::Router, String> {
    let store: Arc<dyn Store> = match &settings.redis_url {
        Some(url) => Arc::new(
            RedisStore::connect(url)
                .await
                .map_err(|e| format!("REDIS_URL: {e}"))?
                .prefix("pay-demo:"),
        ),
        None => Arc::new(MemoryStore::new()),
    };
    app_with(settings, Arc::new(MemoryOrders::default()), store)
}

/// The app with the orders and notification store given.
///
/// # Errors
///
/// A message for settings that cannot work.
pub fn app_with(
    settings: &Settings,
    orders: Arc<dyn Orders>,
    store: Arc<dyn Store>,
) -> Result<axum::Router, String> {
    let config = settings.pay_config()?;
    let client = PayClient::builder(config.clone())
        .api_base(&settings.api_base)
        .notify_url(settings.notify_url())
        .build()
        .map_err(|e| format!("WECHAT_PAY_API_BASE: {e}"))?;
    let shop = Shop {
        orders,
        client,
        notify_url: settings.notify_url(),
    };
    let notify = PayNotify::with_state(config, shop.clone())
        .handler(paid)
        .store(store)
        .build();
    Ok(axum::Router::new()
        .route("/", get(index))
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(get_order))
        .route_service("/pay/notify", notify)
        .with_state(shop))
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// The body of `POST /orders`.
#[derive(Debug, Deserialize)]
pub struct NewOrder {
    /// The payer's `openid` under the app (from web authorization).
    pub openid: String,
    /// The amount in fen.
    pub total_fee: u64,
    /// What is bought.
    pub body: String,
}

/// The answer of `POST /orders`.
#[derive(Debug, Serialize)]
pub struct Created {
    /// The order's id (`out_trade_no`).
    pub id: String,
    /// What the page passes to `getBrandWCPayRequest`.
    pub pay_params: JsapiPayParams,
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message.to_string() })),
    )
        .into_response()
}

async fn create_order(
    State(shop): State<Shop>,
    Json(new): Json<NewOrder>,
) -> Result<Json<Created>, Response> {
    // out_trade_no: seconds + 12 random hex digits (22 characters, unique per merchant).
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("{secs}{}", &nonce_str()[..12]);
    let order = UnifiedOrder::new(TradeType::Jsapi, &new.body, &id, new.total_fee)
        .openid(&new.openid)
        .notify_url(&shop.notify_url)
        // The payer's IP; for JSAPI WeChat Pay accepts the server's.
        .spbill_create_ip("127.0.0.1");
    order
        .validate()
        .map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    shop.orders
        .create(Order {
            id: id.clone(),
            state: OrderState::Unpaid,
            total_fee: new.total_fee,
            transaction_id: None,
            openid: new.openid.clone(),
        })
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let prepay = shop.client.unified_order(order).await.map_err(|e| {
        let status = match &e {
            PayClientError::Pay(p) if matches!(p.kind(), PayErrorKind::InvalidRequest(_)) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        tracing::warn!(%e, order = id, "unified order failed");
        error(status, e)
    })?;
    Ok(Json(Created {
        pay_params: shop.client.jsapi_params(&prepay.prepay_id),
        id,
    }))
}

async fn get_order(
    State(shop): State<Shop>,
    Path(id): Path<String>,
) -> Result<Json<Order>, Response> {
    shop.orders
        .get(&id)
        .map(Json)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no order {id}")))
}
