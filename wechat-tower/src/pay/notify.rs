//! [`PayNotify`]: the tower service of the notify URL. See the [module docs](super).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;
use wechat_core::pay::v3::{self, NotifyHeaders};
use wechat_core::pay::{
    PayError, PayErrorKind, PayMap, PayNotification, RefundNotification, notify_answer,
};

use super::config::PayConfig;
use super::handler::{
    BoxPayFuture, ErasedPayHandler, MountPayHandler, Notification, Paid, PayContext, PayHandler,
    PayKind, PayVersion, Refunded,
};
use super::once::{Once, Outcome};
use crate::body::{BoxError, read_limited};
use crate::rejection::Rejection;
use crate::store::{MemoryStore, Store};

/// The service of the notify URL (支付结果通知 / 退款结果通知, v2 and v3): verifies, checks the
/// merchant, runs the handler once per notification, answers SUCCESS only after the handler
/// returned `Ok`. Cheap to clone; `Error = Infallible`, so it mounts on axum with
/// `route_service`. See the [module docs](super).
///
/// # Refunds and replays
///
/// A v2 refund notification is not signed: only its `req_info` (AES-256-ECB under the API key,
/// no MAC, no timestamp) comes from WeChat, and it names no `appid` or `mch_id` (the outer ones
/// are checked for consistency, but anyone can write them). So a v2 refund is accepted when
/// `req_info` decrypts under the key to a complete, consistent refund
/// ([`RefundNotification::parse`]), and its `success_time` is no older than the record of
/// handled notifications lives ([`PayConfig::record_ttl`], a week) less the timestamp window, nor
/// ahead of now by more than that window: a replay is then either answered from the record
/// without running the handler, or refused (401). `CHANGE` / `REFUNDCLOSE` notifications carry
/// no `success_time`, so nothing bounds their replay. ECB also lets blocks of several genuine
/// `req_info`s be spliced together, so a refund handler must **look the refund up in its own
/// records** by `out_refund_no` (or `refund_id`), check `out_trade_no` and the amount against
/// what it asked for, treat `CHANGE`/`REFUNDCLOSE` as a prompt to query the refund (查询退款)
/// rather than as a reason to undo one that succeeded, and never move a refund back from
/// refunded. v3 refunds are signed (RSA) with a timestamp checked against a 300 s window, well
/// inside the record's lifetime, so their replays are answered from the record.
#[derive(Clone)]
pub struct PayNotify {
    inner: Arc<Inner>,
}

struct Inner {
    config: PayConfig,
    store: Arc<dyn Store>,
    paid: Option<ErasedPayHandler>,
    refunded: Option<ErasedPayHandler>,
    transferred: Option<ErasedPayHandler>,
}

impl std::fmt::Debug for PayNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayNotify")
            .field("config", &self.inner.config)
            .field("paid", &self.inner.paid.is_some())
            .field("refunded", &self.inner.refunded.is_some())
            .field("transferred", &self.inner.transferred.is_some())
            .finish_non_exhaustive()
    }
}

impl PayNotify {
    /// A service for `config`: mount handlers, give the state their `State<T>` extractors need
    /// (if any) with [`with_state`](PayNotifyBuilder::with_state), then
    /// [`build`](PayNotifyBuilder::build) — the order of axum's `Router`.
    pub fn builder<S: Send + Sync + 'static>(config: PayConfig) -> PayNotifyBuilder<S> {
        PayNotifyBuilder {
            config,
            store: None,
            paid: None,
            refunded: None,
            transferred: None,
            conflict: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PayConfig {
        &self.inner.config
    }
}

/// A mounted pay handler waiting for the state `S` it extracts from.
type StatefulPayHandler<S> =
    Arc<dyn Fn(Notification, &PayContext, &S) -> BoxPayFuture + Send + Sync + 'static>;

/// A slot's handler and its name (for [`PayRouteError`] and logs).
struct Slot<S> {
    name: &'static str,
    handler: StatefulPayHandler<S>,
}

/// How to build a [`PayNotify`]: handlers, store, then the state. `S` is the state the mounted
/// handlers still need, as in axum's `Router<S>`: [`with_state`](Self::with_state) gives it, and
/// [`build`](Self::build) is there once nothing is missing (`S = ()`).
#[must_use]
pub struct PayNotifyBuilder<S = ()> {
    config: PayConfig,
    store: Option<Arc<dyn Store>>,
    paid: Option<Slot<S>>,
    refunded: Option<Slot<S>>,
    transferred: Option<Slot<S>>,
    conflict: Option<PayRouteError>,
}

impl<S> std::fmt::Debug for PayNotifyBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayNotifyBuilder")
            .field("config", &self.config)
            .field("paid", &self.paid.as_ref().map(|slot| slot.name))
            .field("refunded", &self.refunded.as_ref().map(|slot| slot.name))
            .field(
                "transferred",
                &self.transferred.as_ref().map(|slot| slot.name),
            )
            .finish_non_exhaustive()
    }
}

/// Why a [`PayNotifyBuilder`] cannot build: two handlers for one kind of notification (the pay
/// counterpart of [`RouteError::Conflict`](crate::RouteError::Conflict)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayRouteError {
    /// Two handlers for the same kind: payments (`pay = "notify"`) or refunds (`pay = "refund"`).
    Conflict {
        /// The kind.
        kind: PayKind,
        /// The handler mounted first.
        first: &'static str,
        /// The handler mounted second.
        second: &'static str,
    },
}

impl std::fmt::Display for PayRouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict {
                kind,
                first,
                second,
            } => {
                let kind = match kind {
                    PayKind::Notify => "payments (pay = \"notify\")",
                    PayKind::Refund => "refunds (pay = \"refund\")",
                    PayKind::Transfer => "transfers (pay = \"transfer\")",
                };
                write!(
                    f,
                    "two handlers for {kind}: `{first}` and `{second}`; each kind takes one handler"
                )
            }
        }
    }
}

impl std::error::Error for PayRouteError {}

impl<S: Send + Sync + 'static> PayNotifyBuilder<S> {
    /// Mounts a pay handler in the slot of its kind: the one mounting method.
    ///
    /// - an `async fn` marked `#[wechat_handler(pay = "notify")]`, `pay = "refund"` or
    ///   `pay = "transfer"` mounts in the slot of its attribute, its mistakes caught at compile
    ///   time;
    /// - a plain `async fn` mounts in the slot of its first argument: payments for [`Paid`],
    ///   `PayNotification` and `v3::Transaction`, refunds for [`Refunded`],
    ///   `RefundNotification` and `v3::Refund`, transfers (商家转账) for `v3::TransferBill`.
    ///
    /// A second handler for the same slot is an error of [`build`](PayNotifyBuilder::build)
    /// ([`PayRouteError::Conflict`]), as two handlers for one route are for the `Router`.
    pub fn handler<H, M>(self, handler: H) -> Self
    where
        H: MountPayHandler<S, M>,
    {
        handler.mount(self)
    }

    /// Mounts `handler`, named `name`, in the slot of its first argument (what
    /// [`handler`](Self::handler) does for a plain fn, and what generated code calls).
    pub(crate) fn mount_fn<H, T>(mut self, name: &'static str, handler: H) -> Self
    where
        H: PayHandler<T, S>,
        T: 'static,
    {
        let kind = <H::Input as super::handler::FromNotification>::KIND;
        let handler: StatefulPayHandler<S> =
            Arc::new(move |n: Notification, ctx: &PayContext, state: &S| {
                handler.clone().call(n, ctx, state)
            });
        let slot = match kind {
            PayKind::Notify => &mut self.paid,
            PayKind::Refund => &mut self.refunded,
            PayKind::Transfer => &mut self.transferred,
        };
        match slot {
            Some(first) => {
                if self.conflict.is_none() {
                    self.conflict = Some(PayRouteError::Conflict {
                        kind,
                        first: first.name,
                        second: name,
                    });
                }
            }
            None => *slot = Some(Slot { name, handler }),
        }
        self
    }

    /// Where the records of handled notifications live (default: a [`MemoryStore`] of this
    /// service). With several processes behind the notify URL, give them one shared store
    /// (`RedisStore`), so that a duplicate delivered to another process is recognised.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Gives the handlers mounted so far the state their `State<T>` extractors take `T` from
    /// (`T: FromRef<S>`), as axum's `Router::with_state`. Call it after mounting; `S2` is what
    /// handlers mounted later still need (usually `()`, so that [`build`](Self::build) follows).
    pub fn with_state<S2: Send + Sync + 'static>(self, state: S) -> PayNotifyBuilder<S2> {
        let state = Arc::new(state);
        let bind = |slot: Option<Slot<S>>| {
            slot.map(|Slot { name, handler }| {
                let state = Arc::clone(&state);
                let handler: StatefulPayHandler<S2> =
                    Arc::new(move |n: Notification, ctx: &PayContext, _: &S2| {
                        handler(n, ctx, &state)
                    });
                Slot { name, handler }
            })
        };
        PayNotifyBuilder {
            config: self.config,
            store: self.store,
            paid: bind(self.paid),
            refunded: bind(self.refunded),
            transferred: bind(self.transferred),
            conflict: self.conflict,
        }
    }
}

impl PayNotifyBuilder<()> {
    /// The service, once every handler has its state.
    ///
    /// # Errors
    ///
    /// [`PayRouteError::Conflict`] when two handlers were mounted for the same kind.
    pub fn build(self) -> Result<PayNotify, PayRouteError> {
        if let Some(conflict) = self.conflict {
            return Err(conflict);
        }
        if self.paid.is_none() && self.refunded.is_none() && self.transferred.is_none() {
            tracing::warn!("PayNotify built without handlers: every notification answers FAIL");
        }
        if self.config.record_ttl < super::config::MIN_RECORD_TTL {
            tracing::warn!(
                record_ttl_secs = self.config.record_ttl.as_secs(),
                "PayConfig::record_ttl is shorter than WeChat's 24 h of retries: late retries \
                 run the handler again, and v2 refunds retried late are refused"
            );
        }
        let erase = |slot: Option<Slot<()>>| -> Option<ErasedPayHandler> {
            slot.map(|Slot { handler, .. }| {
                Arc::new(move |n: Notification, ctx: &PayContext| handler(n, ctx, &()))
                    as ErasedPayHandler
            })
        };
        Ok(PayNotify {
            inner: Arc::new(Inner {
                config: self.config,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>),
                paid: erase(self.paid),
                refunded: erase(self.refunded),
                transferred: erase(self.transferred),
            }),
        })
    }
}

/// The future of [`PayNotify`]: boxed, as a terminal service like a router may be (the layers
/// in front keep named futures).
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static>>;

impl<B> Service<Request<B>> for PayNotify
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { Ok(inner.handle(req).await) })
    }
}

/// Why a notification was not answered SUCCESS: the status, and the reason (logged; also sent,
/// in WeChat's FAIL format, unless a `public` text replaces it: a handler's own error stays in
/// the log).
struct Refusal {
    status: StatusCode,
    reason: String,
    public: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            public: None,
        }
    }

    fn public_reason(&self) -> &str {
        self.public.unwrap_or(&self.reason)
    }

    fn of(err: &PayError) -> Self {
        let status = match err.kind() {
            PayErrorKind::InvalidSign
            | PayErrorKind::MissingSign
            | PayErrorKind::InvalidSignature
            | PayErrorKind::UnknownSerial(_)
            | PayErrorKind::StaleTimestamp
            | PayErrorKind::StaleField(_)
            | PayErrorKind::InvalidHeader(_) => StatusCode::UNAUTHORIZED,
            PayErrorKind::AppIdMismatch | PayErrorKind::MchIdMismatch => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, err.to_string())
    }
}

impl Inner {
    async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let v3 = parts.headers.contains_key("wechatpay-signature");
        if parts.method != Method::POST {
            let mut res = answer(
                v3,
                Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "POST only")),
            );
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return res;
        }
        let body = match read_limited(&parts.headers, body, self.config.body_limit).await {
            Ok(body) => body,
            Err(rejection) => {
                let status = if rejection == Rejection::BodyTooLarge {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                return answer(v3, Err(Refusal::new(status, rejection.body_text())));
            }
        };
        let outcome = if v3 {
            self.handle_v3(&parts.headers, &body).await
        } else {
            self.handle_v2(&body).await
        };
        if let Err(refusal) = &outcome {
            tracing::warn!(
                status = refusal.status.as_u16(),
                reason = %refusal.reason,
                v3,
                "WeChat Pay notification answered FAIL"
            );
        }
        answer(v3, outcome)
    }

    async fn handle_v2(&self, body: &[u8]) -> Result<(), Refusal> {
        let config = &self.config;
        let map = PayMap::from_xml_bytes(body).map_err(|e| Refusal::of(&e))?;
        let (notification, id) = if map.get("req_info").is_some() {
            let n = RefundNotification::parse(body, config.key()).map_err(|e| Refusal::of(&e))?;
            // The outer appid/mch_id are unsigned: a consistency check, not authentication
            // (that is the key, which req_info decrypted under).
            n.check_merchant(config.app_id(), config.mch_id())
                .map_err(|e| Refusal::of(&e))?;
            // req_info has no timestamp: refuse one older than its record could be.
            n.check_fresh(
                config.now(),
                config.refund_max_age_secs(),
                config.window_secs,
            )
            .map_err(|e| Refusal::of(&e))?;
            let id = refund_id(&n.refund_id, status_name(&n.refund_status));
            (Notification::Refunded(Refunded::V2(n)), id)
        } else {
            let n = PayNotification::parse(body, config.key(), config.sign_type_of_orders())
                .map_err(|e| Refusal::of(&e))?;
            n.check_merchant(config.app_id(), config.mch_id())
                .map_err(|e| Refusal::of(&e))?;
            let id = n.transaction_id.clone();
            (Notification::Paid(Paid::V2(n)), id)
        };
        self.dispatch(notification, PayVersion::V2, id, None).await
    }

    async fn handle_v3(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
        let config = &self.config;
        let Some(key) = config.api_v3_key.as_ref().filter(|_| config.accepts_v3()) else {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a v3 notification, but no APIv3 key or WeChat Pay public key/platform certificate is configured",
            ));
        };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let notify_headers = NotifyHeaders {
            timestamp: header("wechatpay-timestamp"),
            nonce: header("wechatpay-nonce"),
            signature: header("wechatpay-signature"),
            serial: header("wechatpay-serial"),
        };
        // The configured keys, else the v3 client's set, refreshed once for an unknown serial
        // (a certificate rotation).
        let verifier = match &config.v3_certificates {
            Some(certificates) if !config.verifier.contains(notify_headers.serial) => certificates
                .verifier_for(notify_headers.serial, super::v3::Origin::Notification)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "refreshing the WeChat Pay platform certificates failed");
                    Refusal::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the platform certificates could not be refreshed",
                    )
                })?,
            _ => Arc::clone(&config.verifier),
        };
        let verified = v3::parse_notification(
            &notify_headers,
            body,
            &verifier,
            key,
            config.now(),
            config.window_secs,
        )
        .map_err(|e| match e.kind() {
            PayErrorKind::ExpiredCertificate(_) | PayErrorKind::CertificateNotYetValid(_) => {
                Refusal::new(StatusCode::UNAUTHORIZED, e.to_string())
            }
            _ => Refusal::of(&e),
        })?;
        let event_id = Some(verified.notification.id.clone());
        if verified.is_transaction() {
            let t = verified.transaction().map_err(|e| Refusal::of(&e))?;
            if t.appid != config.app_id() {
                return Err(Refusal::of(&PayErrorKind::AppIdMismatch.into()));
            }
            if t.mchid != config.mch_id() {
                return Err(Refusal::of(&PayErrorKind::MchIdMismatch.into()));
            }
            let id = t.transaction_id.clone();
            self.dispatch(
                Notification::Paid(Paid::V3(t)),
                PayVersion::V3,
                id,
                event_id,
            )
            .await
        } else if verified.is_refund() {
            let r = verified.refund().map_err(|e| Refusal::of(&e))?;
            if r.mchid != config.mch_id() {
                return Err(Refusal::of(&PayErrorKind::MchIdMismatch.into()));
            }
            let id = refund_id(&r.refund_id, &r.refund_status);
            self.dispatch(
                Notification::Refunded(Refunded::V3(r)),
                PayVersion::V3,
                id,
                event_id,
            )
            .await
        } else if verified.is_transfer() {
            let t = verified.transfer().map_err(|e| Refusal::of(&e))?;
            // `mch_id` is not a typed field of the bill: a missing one is another merchant's.
            let mch_id = t.extra.get("mch_id").and_then(|v| v.as_str()).unwrap_or("");
            if mch_id != config.mch_id() {
                return Err(Refusal::of(&PayErrorKind::MchIdMismatch.into()));
            }
            // A transfer notifies each state it reaches: each is handled once.
            let id = refund_id(&t.transfer_bill_no, &t.state);
            self.dispatch(Notification::Transferred(t), PayVersion::V3, id, event_id)
                .await
        } else {
            Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "no handler for v3 event type {}",
                    verified.notification.event_type
                ),
            ))
        }
    }

    async fn dispatch(
        &self,
        notification: Notification,
        version: PayVersion,
        id: String,
        notification_id: Option<String>,
    ) -> Result<(), Refusal> {
        let kind = notification.kind();
        let (handler, slot) = match kind {
            PayKind::Notify => (&self.paid, "notify"),
            PayKind::Refund => (&self.refunded, "refund"),
            PayKind::Transfer => (&self.transferred, "transfer"),
        };
        let Some(handler) = handler.clone() else {
            return Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                format!("no `pay = \"{slot}\"` handler is mounted"),
            ));
        };
        let config = &self.config;
        let key = format!("{}{slot}:{}:{id}", config.key_prefix, config.mch_id());
        let ctx = PayContext {
            version,
            kind,
            id,
            notification_id,
        };
        let once = Once {
            store: Arc::clone(&self.store),
            key,
            claim_ttl: config.claim_ttl,
            record_ttl: config.record_ttl,
            wait: config.duplicate_wait,
        };
        match once.run(move || handler(notification, &ctx)).await {
            Outcome::Handled | Outcome::AlreadyHandled => Ok(()),
            Outcome::Failed(reason) => Err(Refusal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                reason: format!("handler failed: {reason}"),
                // The handler's error is the application's business: logged, not sent.
                public: Some("handler failed; WeChat Pay will retry"),
            }),
            Outcome::Busy => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the same notification is being handled; retry later",
            )),
            Outcome::Store(err) => Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("notification record: {err}"),
            )),
        }
    }
}

fn refund_id(refund_id: &str, status: &str) -> String {
    format!("{refund_id}:{status}")
}

fn status_name(status: &wechat_core::pay::RefundStatus) -> &str {
    use wechat_core::pay::RefundStatus;
    match status {
        RefundStatus::Success => "SUCCESS",
        RefundStatus::Change => "CHANGE",
        RefundStatus::RefundClose => "REFUNDCLOSE",
        RefundStatus::Other(other) => other,
        _ => "OTHER",
    }
}

/// WeChat's answer: v2 `<xml><return_code>SUCCESS|FAIL…`, v3 204 or `{"code":"FAIL",…}`.
fn answer(v3: bool, outcome: Result<(), Refusal>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (v3, outcome) {
        (false, Ok(())) => (
            StatusCode::OK,
            "application/xml; charset=utf-8",
            notify_answer(true, "OK"),
        ),
        (false, Err(refusal)) => (
            refusal.status,
            "application/xml; charset=utf-8",
            notify_answer(false, refusal.public_reason()),
        ),
        (true, Ok(())) => {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::NO_CONTENT;
            return res;
        }
        (true, Err(refusal)) => (
            refusal.status,
            "application/json; charset=utf-8",
            serde_json::json!({ "code": "FAIL", "message": refusal.public_reason() }).to_string(),
        ),
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use wechat_core::pay::SignType;

    use super::*;
    use crate::pay::DEFAULT_RECORD_TTL;
    use crate::test_util::mock_pay::MockPay;

    #[derive(Clone, Default)]
    struct Counter {
        paid: Arc<AtomicUsize>,
        refunded: Arc<AtomicUsize>,
        fail: Arc<AtomicUsize>,
    }

    async fn paid(p: Paid, crate::State(c): crate::State<Counter>) -> Result<(), String> {
        if c.fail.load(Ordering::SeqCst) > 0 {
            c.fail.fetch_sub(1, Ordering::SeqCst);
            return Err("database unavailable".into());
        }
        assert!(p.is_success());
        c.paid.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn refunded(_: Refunded, crate::State(c): crate::State<Counter>) {
        c.refunded.fetch_add(1, Ordering::SeqCst);
    }

    fn config(mock: &MockPay) -> PayConfig {
        PayConfig::new(mock.app_id(), mock.mch_id(), mock.key())
            .sign_type(mock.sign_type())
            .api_v3_key(mock.api_v3_key())
            .wechatpay_public_key(mock.public_key_id(), mock.public_key_pem())
            .unwrap()
    }

    #[test]
    fn issue17_a_second_handler_for_a_kind_is_an_error_naming_both() {
        async fn paid_again(_: Paid) {}
        let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
        let err = PayNotify::builder(config.clone())
            .handler(paid)
            .handler(refunded)
            .handler(paid_again)
            .with_state(Counter::default())
            .build()
            .unwrap_err();
        let PayRouteError::Conflict {
            kind,
            first,
            second,
        } = &err;
        assert_eq!(*kind, PayKind::Notify);
        assert!(first.ends_with("::paid"), "{first}");
        assert!(second.ends_with("::paid_again"), "{second}");
        assert!(
            err.to_string().contains("two handlers for payments"),
            "{err}"
        );
        // One handler per kind builds; the state may come after the handlers (axum's order).
        assert!(
            PayNotify::builder(config)
                .handler(paid)
                .handler(refunded)
                .with_state(Counter::default())
                .build()
                .is_ok()
        );
    }

    fn service(mock: &MockPay, counter: &Counter) -> PayNotify {
        PayNotify::builder(config(mock))
            .handler(paid)
            .handler(refunded)
            .with_state(counter.clone())
            .build()
            .unwrap()
    }

    async fn send(
        svc: &PayNotify,
        method: Method,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri("/pay/notify");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).unwrap();
        let res = svc.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn v3_headers(n: &crate::test_util::mock_pay::V3Notify) -> Vec<(&str, &str)> {
        vec![
            ("wechatpay-timestamp", n.timestamp.as_str()),
            ("wechatpay-nonce", n.nonce.as_str()),
            ("wechatpay-signature", n.signature.as_str()),
            ("wechatpay-serial", n.serial.as_str()),
        ]
    }

    const SUCCESS: &str = "<return_code><![CDATA[SUCCESS]]></return_code>";
    const FAIL: &str = "<return_code><![CDATA[FAIL]]></return_code>";

    #[tokio::test]
    async fn v2_success_once_then_answered_from_the_record() {
        let mock = MockPay::builder()
            .sign_type(SignType::HmacSha256)
            .start()
            .await
            .unwrap();
        let counter = Counter::default();
        let svc = service(&mock, &counter);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let xml = mock.notify_v2_xml("no-1").unwrap();
        assert!(
            !xml.contains("sign_type"),
            "HMAC notifications omit it: {xml}"
        );
        for _ in 0..3 {
            let (status, body) = send(&svc, Method::POST, &[], xml.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains(SUCCESS), "{body}");
        }
        assert_eq!(counter.paid.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn v2_refusals_carry_their_status_and_fail() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let svc = service(&mock, &counter);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();

        let mut forged = mock.notify_v2_map("no-1").unwrap();
        forged.insert("total_fee", "1");
        forged.sign(
            &wechat_core::secret::PayKey::new("not-the-key"),
            SignType::Md5,
        );
        let (status, body) = send(&svc, Method::POST, &[], forged.to_xml().unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains(FAIL), "{body}");

        let mut other_mch = mock.notify_v2_map("no-1").unwrap();
        other_mch.insert("mch_id", "1234567890");
        mock.sign(&mut other_mch);
        let (status, body) = send(&svc, Method::POST, &[], other_mch.to_xml().unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("mch_id"), "{body}");

        let (status, _) = send(&svc, Method::POST, &[], "<xml><a>").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let doctype = "<!DOCTYPE x [<!ENTITY e \"boom\">]><xml><a>&e;</a></xml>";
        let (status, _) = send(&svc, Method::POST, &[], doctype).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = send(&svc, Method::POST, &[], vec![b'<'; 70 * 1024]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, _) = send(&svc, Method::GET, &[], "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(counter.paid.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_failed_handler_answers_fail_and_the_retry_runs_it() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        counter.fail.store(1, Ordering::SeqCst);
        let svc = service(&mock, &counter);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let xml = mock.notify_v2_xml("no-1").unwrap();
        let (status, body) = send(&svc, Method::POST, &[], xml.clone()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains(FAIL), "{body}");
        assert!(
            !body.contains("database unavailable"),
            "handler errors stay in the log: {body}"
        );
        let (status, body) = send(&svc, Method::POST, &[], xml).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(counter.paid.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_a_handler_for_the_kind_the_answer_is_fail() {
        let mock = MockPay::start().await.unwrap();
        let svc = PayNotify::builder(config(&mock)).build().unwrap();
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let (status, body) =
            send(&svc, Method::POST, &[], mock.notify_v2_xml("no-1").unwrap()).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
        assert!(body.contains(FAIL), "{body}");
    }

    #[tokio::test]
    async fn v2_refunds_decrypt_and_run_once() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let svc = service(&mock, &counter);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let xml = mock.refund_notify_xml("no-1", "r-1", 100).unwrap();
        for _ in 0..2 {
            let (status, body) = send(&svc, Method::POST, &[], xml.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);
        assert_eq!(counter.paid.load(Ordering::SeqCst), 0);
    }

    /// A service whose clock is `now` (seconds), handling refunds only.
    fn refund_service(mock: &MockPay, counter: &Counter, now: &Arc<AtomicU64>) -> PayNotify {
        let now = Arc::clone(now);
        PayNotify::builder(config(mock).clock(move || now.load(Ordering::SeqCst)))
            .handler(refunded)
            .store(Arc::new(MemoryStore::new()))
            .with_state(counter.clone())
            .build()
            .unwrap()
    }

    /// Moves both clocks (the store's tokio time and the service's `now`) by `by`.
    async fn pass(now: &AtomicU64, by: Duration) {
        tokio::time::advance(by).await;
        now.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    const T0: u64 = 1_700_000_000;

    #[tokio::test(start_paused = true)]
    async fn issue16_a_refund_replay_is_answered_from_the_record_and_refused_once_it_could_be_gone()
    {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let now = Arc::new(AtomicU64::new(T0));
        let svc = refund_service(&mock, &counter, &now);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let xml = mock
            .refund_notify_xml_at("no-1", "r-1", 100, T0 - 60)
            .unwrap();
        let (status, body) = send(&svc, Method::POST, &[], xml.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);

        // An hour and a second later: answered from the record, the handler not run again.
        pass(&now, Duration::from_secs(3601)).await;
        let (status, body) = send(&svc, Method::POST, &[], xml.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(SUCCESS), "{body}");
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);

        // Past the record's lifetime the record is gone: the replay is refused, not re-run.
        pass(&now, DEFAULT_RECORD_TTL).await;
        let (status, body) = send(&svc, Method::POST, &[], xml).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            body.contains(FAIL) && body.contains("success_time"),
            "{body}"
        );
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn issue16_a_refund_too_old_or_from_the_future_is_refused_at_first_sight() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let now = Arc::new(AtomicU64::new(T0));
        let svc = refund_service(&mock, &counter, &now);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let window = 300;
        let oldest = T0 - (DEFAULT_RECORD_TTL.as_secs() - window);
        for (at, expected) in [
            (oldest - 1, StatusCode::UNAUTHORIZED),
            (T0 + window + 1, StatusCode::UNAUTHORIZED),
            (0, StatusCode::UNAUTHORIZED),
            (oldest, StatusCode::OK),
            (T0 + window, StatusCode::OK),
        ] {
            let xml = mock.refund_notify_xml_at("no-1", "r-1", 100, at).unwrap();
            let (status, body) = send(&svc, Method::POST, &[], xml).await;
            assert_eq!(status, expected, "success_time {at}: {body}");
        }
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 2);
    }

    /// A refund notification with these `req_info` fields, as the mock's key encrypts them.
    fn refund_xml(mock: &MockPay, fields: &[(&str, &str)]) -> String {
        let mut info = String::from("<root>");
        for (k, v) in fields {
            info.push_str(&format!("<{k}><![CDATA[{v}]]></{k}>"));
        }
        info.push_str("</root>");
        let key = wechat_core::secret::PayKey::new(mock.key());
        format!(
            "<xml><return_code>SUCCESS</return_code><appid>{}</appid><mch_id>{}</mch_id>\
             <nonce_str>n</nonce_str><req_info>{}</req_info></xml>",
            mock.app_id(),
            mock.mch_id(),
            wechat_core::pay::refund::encrypt_req_info(&info, &key)
        )
    }

    #[tokio::test]
    async fn issue16_refundclose_without_success_time_is_handled_once() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let now = Arc::new(AtomicU64::new(T0));
        let svc = refund_service(&mock, &counter, &now);
        let without_success_time = |status: &str| {
            refund_xml(
                &mock,
                &[
                    ("transaction_id", "4200001234202311141234567890"),
                    ("out_trade_no", "no-1"),
                    ("refund_id", "50300000000000000000000000001"),
                    ("out_refund_no", "r-1"),
                    ("total_fee", "100"),
                    ("refund_fee", "100"),
                    ("refund_status", status),
                ],
            )
        };
        let closed = without_success_time("REFUNDCLOSE");
        for _ in 0..2 {
            let (status, body) = send(&svc, Method::POST, &[], closed.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);
        // A SUCCESS without success_time is not WeChat's: refused.
        let (status, body) = send(&svc, Method::POST, &[], without_success_time("SUCCESS")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("success_time"), "{body}");
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn issue16_right_outer_merchant_but_another_merchants_req_info_is_refused() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let svc = service(&mock, &counter);
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let genuine = mock.refund_notify_xml("no-1", "r-1", 100).unwrap();
        let mut outer = PayMap::from_xml(&genuine).unwrap();
        let ours = wechat_core::secret::PayKey::new(mock.key());
        let theirs = wechat_core::secret::PayKey::new("0123456789abcdef0123456789abcdef");
        let plaintext =
            wechat_core::pay::refund::decrypt_req_info(outer.get("req_info").unwrap(), &ours)
                .unwrap();
        outer.insert(
            "req_info",
            wechat_core::pay::refund::encrypt_req_info(&plaintext, &theirs),
        );
        assert_eq!(outer.get("mch_id"), Some(mock.mch_id()));
        let (status, body) = send(&svc, Method::POST, &[], outer.to_xml().unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains(FAIL), "{body}");
        assert_eq!(counter.refunded.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn v3_verified_decrypted_once_and_fresh_only() {
        let mock = MockPay::start().await.unwrap();
        let counter = Counter::default();
        let now = 1_700_000_000;
        let svc = PayNotify::builder(config(&mock).clock(move || now))
            .handler(paid)
            .with_state(counter.clone())
            .build()
            .unwrap();
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let n = mock.v3_notify("no-1", now - 10).unwrap();
        for _ in 0..2 {
            let (status, body) = send(&svc, Method::POST, &v3_headers(&n), n.body.clone()).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        }
        assert_eq!(counter.paid.load(Ordering::SeqCst), 1);

        let stale = mock.v3_notify("no-1", now - 600).unwrap();
        let (status, body) =
            send(&svc, Method::POST, &v3_headers(&stale), stale.body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("\"FAIL\""), "{body}");

        let tampered = n.body.replace("TRANSACTION", "TRANSACTIOM");
        let (status, _) = send(&svc, Method::POST, &v3_headers(&n), tampered).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn v3_without_keys_is_a_configuration_error() {
        let mock = MockPay::start().await.unwrap();
        let svc = PayNotify::builder(PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()))
            .handler(paid)
            .with_state(Counter::default())
            .build()
            .unwrap();
        mock.create_order("no-1", 100, "oUser");
        mock.pay("no-1").unwrap();
        let n = mock.v3_notify("no-1", 1).unwrap();
        let (status, _) = send(&svc, Method::POST, &v3_headers(&n), n.body.clone()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn two_transfer_handlers_conflict_and_a_plain_fn_mounts_in_the_transfer_slot() {
        async fn first(_: v3::TransferBill) {}
        async fn second(_: v3::TransferBill, _: PayContext) {}
        let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
        let err = PayNotify::builder(config.clone())
            .handler(first)
            .handler(second)
            .build()
            .unwrap_err();
        let PayRouteError::Conflict {
            kind,
            first: a,
            second: b,
        } = &err;
        assert_eq!(*kind, PayKind::Transfer);
        assert!(a.ends_with("::first"), "{a}");
        assert!(b.ends_with("::second"), "{b}");
        assert!(err.to_string().contains("transfers"), "{err}");
        // Beside a payment and a refund handler, one transfer handler builds.
        let svc = PayNotify::builder(config)
            .handler(paid)
            .handler(refunded)
            .handler(first)
            .with_state(Counter::default())
            .build()
            .unwrap();
        assert!(format!("{svc:?}").contains("transferred: true"), "{svc:?}");
    }
}
