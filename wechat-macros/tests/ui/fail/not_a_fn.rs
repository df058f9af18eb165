use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text")]
struct Echo;

fn main() {
    let _ = Echo;
}
