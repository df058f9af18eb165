use wechat_tower::wechat_handler;
use wechat_tower::FromMessage;

#[wechat_handler(msg = "text")]
async fn echo<M: FromMessage>(_: M) {}

fn main() {
    let _ = echo::<wechat_tower::Message>;
}
