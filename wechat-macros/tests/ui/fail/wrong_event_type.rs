use wechat_tower::message::{ScanEvent, SubscribeEvent};
use wechat_tower::wechat_handler;

#[wechat_handler(event = "SCAN", key = "123")]
async fn scanned(_: SubscribeEvent) {}

// Right: the event's own type.
#[wechat_handler(event = "SCAN", key = "456")]
async fn also_scanned(_: ScanEvent) {}

fn main() {
    let _ = (scanned, also_scanned);
}
