// Mistakes in mounted handlers. Each is reported on the handler; a first argument that is no
// message type and an extractor the state cannot give are reported again at the mounting call,
// because the mount's bounds are deferred to the router's state (known limitation, issue 17).
use wechat_tower::message::TextMessage;
use wechat_tower::{MessageContext, Router, wechat_handler};

#[derive(Clone)]
struct AppState;

#[wechat_handler(msg = "text")]
async fn echo(content: String) -> String {
    content
}

#[wechat_handler(msg = "image")]
async fn image(_: wechat_tower::message::ImageMessage, _: MessageContext, _app: AppState) {}

#[wechat_handler(event = "subscribe")]
async fn hello(_: TextMessage) {}

fn main() {
    let _: Router<()> = Router::new().handler(echo).handler(image).handler(hello);
}
