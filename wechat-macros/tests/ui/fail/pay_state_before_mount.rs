use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::{State, wechat_handler};

#[derive(Clone)]
struct Db;

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid, State(_db): State<Db>) {}

fn main() {
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    // `with_state` before mounting (an axum habit): the handler is mounted on a builder whose
    // state was already given.
    let _ = PayNotify::builder(config).with_state(Db).handler(paid).build();
}
