use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text")]
async fn echo(content: String) -> String {
    content
}

fn main() {
    let _ = echo;
}
