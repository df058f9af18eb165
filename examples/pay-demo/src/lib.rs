//! WeChat Pay (微信支付) on axum, JSAPI flow: the page asks for an order, the server places it
//! with unified order (统一下单) and answers the signed pay parameters, the page opens WeChat's
//! pay sheet, and WeChat Pay's notification (支付结果通知) marks the order paid: once, and only
//! for the amount the server decided.
//!
//! It speaks either API: v2 (XML, the default) or, with `WECHAT_PAY_VERSION=v3`, APIv3 (JSON,
//! RSA): the order is placed with `POST /v3/pay/transactions/jsapi`, the pay parameters are
//! signed with the merchant's key (`signType` `RSA`), v3 notifications arrive at the same
//! notify URL, and refunds (`POST /orders/{id}/refund`) go through
//! `POST /v3/refund/domestic/refunds`.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | an H5 page: lists the goods, tops up, and calls `WeixinJSBridge.invoke('getBrandWCPayRequest', pay_params)` inside WeChat (and says so outside it) |
//! | `GET /products` | the catalogue: `[{"id", "name", "price"}]`, prices in fen |
//! | `GET /topup` | the top-up bounds: `{"min_fee", "max_fee"}` |
//! | `POST /orders` `{"openid", "total_fee", "body"}` | a top-up (充值) of `total_fee` fen, within the bounds; answers [`Created`] |
//! | `POST /orders/product` `{"openid", "product_id"}` | a product at the catalogue's price; answers [`Created`] |
//! | `GET /orders/{id}` | the [`Order`]: `{"id", "state", "item", "total_fee", "credit", "transaction_id", "expires_at", "refunded_fee"}`, `state` one of `unpaid`, `paid`, `refunded` |
//! | `POST /orders/{id}/refund` `{"amount"}` | v3 mode: refunds `amount` fen of a paid order; answers [`RefundCreated`] `{"refund_id", "state"}`; the order becomes `refunded` when the refund notification arrives (v2 mode: 501) |
//! | `POST /pay/notify` | the notify URL: [`PayNotify`] with the [`paid`] and [`refunded`] handlers |
//!
//! The rules, and why: the README's "Security rules".
//!
//! Orders live in SQLite (a file, `pay-demo.db` by default) or PostgreSQL, as `DATABASE_URL`
//! says ([`SqlOrders`]; the migrations run at start), unless you give [`app_with`] your own
//! [`Orders`]. Settings come from the environment (see [`Settings::from_env`]).

mod catalogue;
mod input;
mod orders;
mod settings;
mod sql;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use wechat_tower::core::pay::v3::{self, JsapiParams, RefundRequest, rfc3339_utc8};
use wechat_tower::core::pay::{
    JsapiPayParams, PayErrorKind, TradeType, UnifiedOrder, nonce_str, order::validate_out_trade_no,
};
use wechat_tower::pay::v3::{PayV3Client, PayV3Error};
use wechat_tower::pay::{Paid, PayClient, PayClientError, PayNotify, Refunded};
use wechat_tower::store::{MemoryStore, RedisStore, Store};
use wechat_tower::wechat_handler;

pub use catalogue::Product;
pub use input::{
    FieldError, MAX_BODY_BYTES, MAX_OPENID_LEN, MAX_PRODUCT_ID_LEN, MAX_REQUEST_BYTES, NewOrder,
    NewProductOrder,
};
pub use orders::{
    Item, MarkError, ORDER_TTL, Order, OrderState, Orders, RefundRecord, RefundState, UNPAID_GRACE,
    beijing_time, now_secs, top_up_credit,
};
pub use sql::{Backend, DEFAULT_DATABASE_URL, MEMORY_DATABASE_URL, MIGRATIONS, SqlOrders};

/// The attribute an [`Orders`] implementation needs (its methods are async and it is used as
/// `dyn Orders`), re-exported so a wrapper needs no dependency of its own.
pub use async_trait::async_trait;
pub use settings::{
    DEFAULT_MAX_UNPAID_ORDERS, DEFAULT_TOPUP_MAX_FEE, DEFAULT_TOPUP_MIN_FEE, MOCK_API_V3_KEY,
    MOCK_APPID, MOCK_CERT_SERIAL, MOCK_KEY, MOCK_MCH_ID, Settings, V3Settings,
};

/// The WeChat Pay API the shop places orders with: `WECHAT_PAY_VERSION`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PayApi {
    /// v2: unified order (XML, MD5/HMAC-SHA256 sign).
    V2(PayClient),
    /// APIv3: JSON, RSA-signed requests, verified answers.
    V3(PayV3Client),
}

/// What the handlers share.
#[derive(Clone)]
pub struct Shop {
    /// The orders.
    pub orders: Arc<dyn Orders>,
    /// The pay client, v2 or v3.
    pub pay: PayApi,
    /// The shop's app id, which notifications must name.
    pub app_id: String,
    /// The shop's merchant id, which notifications must name.
    pub mch_id: String,
    /// The notify URL of new orders.
    pub notify_url: String,
    /// The catalogue.
    pub products: Arc<[Product]>,
    /// The smallest top-up, in fen.
    pub topup_min_fee: u64,
    /// The largest top-up, in fen.
    pub topup_max_fee: u64,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("pay", &self.pay)
            .field("app_id", &self.app_id)
            .field("mch_id", &self.mch_id)
            .field("notify_url", &self.notify_url)
            .field("products", &self.products)
            .field("topup_min_fee", &self.topup_min_fee)
            .field("topup_max_fee", &self.topup_max_fee)
            .finish_non_exhaustive()
    }
}

/// Whether a verified notification is for this shop's app and merchant. [`PayNotify`] checks
/// this before any handler runs; the handler checks again, as a shop's own code should before
/// it moves money.
fn check_merchant(payment: &Paid, shop: &Shop) -> Result<(), MarkError> {
    let (appid, mch_id) = match payment {
        Paid::V2(n) => (n.appid.as_str(), n.mch_id.as_str()),
        Paid::V3(t) => (t.appid.as_str(), t.mchid.as_str()),
        _ => return Err(MarkError::OtherMerchant),
    };
    if appid == shop.app_id && mch_id == shop.mch_id {
        Ok(())
    } else {
        Err(MarkError::OtherMerchant)
    }
}

/// The notify handler: marks the order paid, once, only if the amount paid is the order's
/// (which the server decided) and the notification is for this merchant; a top-up credits
/// [`top_up_credit`] of the amount paid, in one database transaction ([`Orders::mark_paid`]):
/// `Ok` means committed. An `Err` answers WeChat Pay FAIL (logged), so it
/// delivers the notification again: after an outage of the order store, or for an order this
/// shop does not know (which never becomes SUCCESS). [`PayNotify`] calls this once per
/// `transaction_id`.
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
    let marked = match check_merchant(&payment, &shop) {
        Ok(()) => {
            shop.orders
                .mark_paid(
                    payment.out_trade_no(),
                    payment.total_fee(),
                    payment.transaction_id(),
                )
                .await
        }
        Err(err) => Err(err),
    };
    if let Err(err) = &marked {
        tracing::warn!(
            order = payment.out_trade_no(),
            transaction_id = payment.transaction_id(),
            %err,
            "payment not applied; answering FAIL"
        );
        return marked;
    }
    tracing::info!(
        order = payment.out_trade_no(),
        transaction_id = payment.transaction_id(),
        "order paid"
    );
    Ok(())
}

/// The refund handler: marks the order refunded when WeChat Pay's verified refund notification
/// (退款结果通知) confirms a refund this shop asked for, of the amount it asked. A failed refund
/// (`CLOSED`, `ABNORMAL`) gives its reservation back. An `Err` answers FAIL, so WeChat Pay
/// delivers it again. [`PayNotify`] calls this once per refund and status.
#[wechat_handler(pay = "refund")]
pub async fn refunded(
    refund: Refunded,
    wechat_tower::State(shop): wechat_tower::State<Shop>,
) -> Result<(), MarkError> {
    if let Refunded::V3(r) = &refund
        && r.mchid != shop.mch_id
    {
        return Err(MarkError::OtherMerchant);
    }
    let (id, out_refund_no) = (refund.out_trade_no(), refund.out_refund_no());
    if !refund.is_success() {
        tracing::info!(
            order = id,
            out_refund_no,
            "refund failed; reservation given back"
        );
        return shop.orders.release_refund(id, out_refund_no).await;
    }
    let marked = shop
        .orders
        .mark_refunded(id, out_refund_no, refund.refund_fee())
        .await;
    match &marked {
        Ok(()) => tracing::info!(order = id, out_refund_no, "order refunded"),
        Err(err) => {
            tracing::warn!(order = id, out_refund_no, %err, "refund not applied; answering FAIL");
        }
    }
    marked
}

/// The app with orders in the database of `settings.database_url` (created and migrated when
/// needed; at most `MAX_UNPAID_ORDERS` unpaid orders), and the notification records in Redis
/// when `REDIS_URL` is set.
///
/// # Errors
///
/// A message for settings that cannot work (a bad API base, a database or Redis unreachable,
/// ...).
pub async fn app(settings: &Settings) -> Result<axum::Router, String> {
    settings.validate()?;
    let orders = SqlOrders::connect(&settings.database_url, settings.max_unpaid_orders)
        .await
        .map_err(|e| format!("DATABASE_URL ({}): {e}", settings.database_location()))?;
    let store: Arc<dyn Store> = match &settings.redis_url {
        Some(url) => Arc::new(
            RedisStore::connect(url)
                .await
                .map_err(|e| format!("REDIS_URL: {e}"))?
                .prefix("pay-demo:"),
        ),
        None => Arc::new(MemoryStore::new()),
    };
    app_with(settings, Arc::new(orders), store)
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
    settings.validate()?;
    let mut config = settings.pay_config()?;
    let pay = match settings.v3_client()? {
        Some(client) => {
            // Notifications are verified with the client's keys: the WeChat Pay public key, or
            // the platform certificates it downloads (and re-downloads on a rotation).
            config = config.v3_certificates(client.certificates());
            PayApi::V3(client)
        }
        None => PayApi::V2(
            PayClient::builder(config.clone())
                .api_base(&settings.api_base)
                .notify_url(settings.notify_url())
                .build()
                .map_err(|e| format!("WECHAT_PAY_API_BASE: {e}"))?,
        ),
    };
    let shop = Shop {
        orders,
        pay,
        app_id: settings.appid.clone(),
        mch_id: settings.mch_id.clone(),
        notify_url: settings.notify_url(),
        products: settings.products.clone().into(),
        topup_min_fee: settings.topup_min_fee,
        topup_max_fee: settings.topup_max_fee,
    };
    let notify = PayNotify::builder(config)
        .handler(paid)
        .handler(refunded)
        .store(store)
        .with_state(shop.clone())
        .build()
        .map_err(|e| format!("pay handlers: {e}"))?;
    Ok(axum::Router::new()
        .route("/", get(index))
        .route("/products", get(products))
        .route("/topup", get(topup_bounds))
        .route("/orders", post(create_top_up))
        .route("/orders/product", post(create_product_order))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/refund", post(refund_order))
        // The JSON routes read at most this much; PayNotify has its own limit.
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .route_service("/pay/notify", notify)
        .with_state(shop))
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

async fn products(State(shop): State<Shop>) -> Json<Vec<Product>> {
    Json(shop.products.to_vec())
}

/// The answer of `GET /topup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopUpBounds {
    /// The smallest top-up, in fen.
    pub min_fee: u64,
    /// The largest, in fen.
    pub max_fee: u64,
}

async fn topup_bounds(State(shop): State<Shop>) -> Json<TopUpBounds> {
    Json(TopUpBounds {
        min_fee: shop.topup_min_fee,
        max_fee: shop.topup_max_fee,
    })
}

/// The answer of `POST /orders` and `POST /orders/product`.
#[derive(Debug, Serialize)]
pub struct Created {
    /// The order's id (`out_trade_no`).
    pub id: String,
    /// The amount in fen, as the server decided it.
    pub total_fee: u64,
    /// When WeChat Pay stops taking the payment (`time_expire`), in seconds since the epoch.
    pub expires_at: u64,
    /// What the page passes to `getBrandWCPayRequest`.
    pub pay_params: PayParams,
}

/// The pay parameters of `getBrandWCPayRequest`: `signType` `MD5`/`HMAC-SHA256` (v2) or `RSA`
/// (v3); the same JSON fields either way.
#[derive(Debug, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum PayParams {
    /// v2.
    V2(JsapiPayParams),
    /// v3.
    V3(JsapiParams),
}

/// The answer of `POST /orders/{id}/refund`.
#[derive(Debug, Serialize)]
pub struct RefundCreated {
    /// WeChat Pay's `refund_id`.
    pub refund_id: String,
    /// The refund's state as WeChat Pay gave it, lower-case: `processing` (usually), `success`.
    pub state: String,
}

/// An error answer: 4xx/5xx `{"error": "..."}`, with `"field"` when a field was refused.
#[derive(Debug)]
enum ApiError {
    Field(FieldError),
    Status(StatusCode, String),
}

impl ApiError {
    fn new(status: StatusCode, message: impl std::fmt::Display) -> Self {
        Self::Status(status, message.to_string())
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::Field(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Field(err) => (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": err.to_string(), "field": err.field })),
            )
                .into_response(),
            Self::Status(status, message) => {
                (status, Json(serde_json::json!({ "error": message }))).into_response()
            }
        }
    }
}

/// The body of a JSON route: `application/json` (a cross-site form cannot send it without
/// asking first), at most [`MAX_REQUEST_BYTES`] (413 beyond, before anything is parsed).
fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request: Content-Type must be application/json",
        ));
    }
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format_args!("request: at most {MAX_REQUEST_BYTES} bytes"),
            )
        } else {
            ApiError::new(status, rejection.body_text())
        }
    })
}

async fn create_top_up(
    State(shop): State<Shop>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Created>, ApiError> {
    let body = json_body(&headers, body)?;
    let new = NewOrder::parse(&body, shop.topup_min_fee, shop.topup_max_fee)?;
    place(&shop, &new.openid, Item::TopUp, &new.body, new.total_fee).await
}

async fn create_product_order(
    State(shop): State<Shop>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Created>, ApiError> {
    let body = json_body(&headers, body)?;
    let new = NewProductOrder::parse(&body)?;
    let Some(product) = catalogue::find(&shop.products, &new.product_id) else {
        return Err(FieldError {
            field: "product_id",
            reason: "no such product".into(),
        }
        .into());
    };
    let item = Item::Product {
        product_id: product.id.clone(),
    };
    place(&shop, &new.openid, item, &product.name, product.price).await
}

/// Places the order with WeChat Pay, then saves it: an order WeChat Pay refused leaves nothing
/// behind. The pay parameters (the only way to pay it) are answered only once it is saved, so
/// no notification can arrive for an order before it exists; one that does (a forged or
/// stray one) answers FAIL.
async fn place(
    shop: &Shop,
    openid: &str,
    item: Item,
    body: &str,
    total_fee: u64,
) -> Result<Json<Created>, ApiError> {
    // out_trade_no: seconds + 12 random hex digits (22 characters, unique per merchant).
    let now = now_secs();
    let id = format!("{now}{}", &nonce_str()[..12]);
    let expires_at = now + ORDER_TTL.as_secs();
    let pay_params = match &shop.pay {
        PayApi::V2(client) => {
            let order = UnifiedOrder::new(TradeType::Jsapi, body, &id, total_fee)
                .openid(openid)
                .notify_url(&shop.notify_url)
                .time_expire(beijing_time(expires_at))
                // The payer's IP; for JSAPI WeChat Pay accepts the server's.
                .spbill_create_ip("127.0.0.1");
            place_v2(client, order, &id).await?
        }
        PayApi::V3(client) => place_v3(client, &id, openid, body, total_fee, expires_at).await?,
    };
    shop.orders
        .create(Order::unpaid(&id, openid, item, total_fee, expires_at))
        .await
        .map_err(|e| {
            // WeChat Pay has the order, but its prepay_id is never handed out, so nobody can
            // pay it, and WeChat Pay closes it at time_expire.
            tracing::warn!(%e, order = id, "order placed but not saved");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e)
        })?;
    Ok(Json(Created {
        pay_params,
        id,
        total_fee,
        expires_at,
    }))
}

/// v2: unified order, then the MD5/HMAC-SHA256 pay parameters.
async fn place_v2(
    client: &PayClient,
    order: UnifiedOrder,
    id: &str,
) -> Result<PayParams, ApiError> {
    order
        .validate()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    let prepay = client.unified_order(order).await.map_err(|e| {
        let status = match &e {
            PayClientError::Pay(p) if matches!(p.kind(), PayErrorKind::InvalidRequest(_)) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        tracing::warn!(%e, order = id, "unified order failed; nothing saved");
        ApiError::new(status, e)
    })?;
    Ok(PayParams::V2(client.jsapi_params(&prepay.prepay_id)))
}

/// The status a failed v3 call answers: 400 for a request refused before it was sent, 502 for
/// WeChat Pay's refusal or an answer that did not verify.
fn v3_status(err: &PayV3Error) -> StatusCode {
    match err.pay().map(wechat_tower::core::pay::PayError::kind) {
        Some(PayErrorKind::InvalidRequest(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// v3: `POST /v3/pay/transactions/jsapi`, then the RSA pay parameters.
async fn place_v3(
    client: &PayV3Client,
    id: &str,
    openid: &str,
    body: &str,
    total_fee: u64,
    expires_at: u64,
) -> Result<PayParams, ApiError> {
    let order = v3::Order::new(body, id, total_fee)
        .openid(openid)
        .time_expire(rfc3339_utc8(expires_at));
    let prepay = client.jsapi(order).await.map_err(|e| {
        tracing::warn!(%e, order = id, "v3 JSAPI order failed; nothing saved");
        ApiError::new(v3_status(&e), e)
    })?;
    let params = client.jsapi_params(&prepay.prepay_id).map_err(|e| {
        tracing::warn!(%e, order = id, "no pay parameters; nothing saved");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e)
    })?;
    Ok(PayParams::V3(params))
}

/// The body of `POST /orders/{id}/refund`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount: u64,
}

/// `POST /orders/{id}/refund {"amount"}` (v3): reserves the amount in the order store (never
/// more than was paid in all), then asks WeChat Pay. A refusal gives the reservation back; an
/// answer that never came (timeout, an answer that did not verify) keeps it, since the refund
/// may have happened: its notification settles it.
async fn refund_order(
    State(shop): State<Shop>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RefundCreated>, ApiError> {
    let body = json_body(&headers, body)?;
    let RefundBody { amount } = serde_json::from_slice(&body).map_err(|e| FieldError {
        field: "amount",
        reason: format!("expected {{\"amount\": fen}}: {e}"),
    })?;
    let PayApi::V3(client) = &shop.pay else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "refunds need WECHAT_PAY_VERSION=v3",
        ));
    };
    let order = find_order(&shop, &id).await?;
    // 22 + 1 + 12 characters: unique per merchant, within the 64 WeChat allows.
    let out_refund_no = format!("{id}R{}", &nonce_str()[..12]);
    shop.orders
        .reserve_refund(&id, &out_refund_no, amount)
        .await
        .map_err(|e| {
            let status = match &e {
                MarkError::Unknown(_) => StatusCode::NOT_FOUND,
                MarkError::RefundTooLarge { .. } => {
                    return ApiError::Field(FieldError {
                        field: "amount",
                        reason: e.to_string(),
                    });
                }
                MarkError::NotPaid | MarkError::BalanceSpent { .. } => StatusCode::CONFLICT,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            ApiError::new(status, e)
        })?;
    let request = RefundRequest::by_out_trade_no(&id, &out_refund_no, amount, order.total_fee)
        .reason("pay-demo refund");
    match client.refund(request).await {
        Ok(refund) => {
            tracing::info!(
                order = id,
                out_refund_no,
                refund_id = refund.refund_id,
                "refund asked"
            );
            Ok(Json(RefundCreated {
                refund_id: refund.refund_id,
                state: refund.status.to_ascii_lowercase(),
            }))
        }
        Err(e) => {
            // WeChat Pay's verified refusal, or a request never sent: no refund happened.
            let refused =
                e.api().is_some_and(|a| a.verified) || v3_status(&e) == StatusCode::BAD_REQUEST;
            if refused && let Err(err) = shop.orders.release_refund(&id, &out_refund_no).await {
                tracing::warn!(order = id, %err, "refund reservation not given back");
            }
            tracing::warn!(%e, order = id, out_refund_no, refused, "refund failed");
            Err(ApiError::new(v3_status(&e), e))
        }
    }
}

/// The order `id`: 404 for an id that is not an `out_trade_no` (never looked up) or not
/// found, 503 when the database fails.
async fn find_order(shop: &Shop, id: &str) -> Result<Order, ApiError> {
    if validate_out_trade_no(id).is_err() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such order"));
    }
    match shop.orders.get(id).await {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, "no such order")),
        Err(e) => {
            tracing::warn!(%e, order = id, "order not read");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))
        }
    }
}

async fn get_order(
    State(shop): State<Shop>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    find_order(&shop, &id).await.map(Json)
}
