use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::{State, wechat_handler};

#[derive(Clone)]
struct Db;

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid, State(_db): State<Db>) {}

fn main() {
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    // The stateless builder: `PayNotify::with_state(config, Db)` gives the state.
    let _ = PayNotify::builder(config).handler(paid).build();
}
