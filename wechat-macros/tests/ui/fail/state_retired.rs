// `state = T` is gone: extractors are checked where the handler is mounted.
use wechat_tower::message::TextMessage;
use wechat_tower::{State, wechat_handler};

#[derive(Clone)]
struct AppState;

#[wechat_handler(msg = "text", state = AppState)]
async fn echo(msg: TextMessage, _: State<AppState>) -> String {
    msg.content
}

fn main() {}
