use wechat_tower::wechat_handler;

#[wechat_handler(event = "subscribe")]
async fn welcome() -> &'static str {
    "Welcome!"
}

fn main() {
    let _ = welcome;
}
