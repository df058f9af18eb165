use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

struct Bot;

impl Bot {
    #[wechat_handler(msg = "text")]
    async fn echo(&self, msg: TextMessage) -> String {
        msg.content
    }
}

fn main() {
    let _ = Bot;
}
