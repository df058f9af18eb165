use wechat_tower::message::TextMessage;
use wechat_tower::{MessageContext, Router, wechat_handler};

#[derive(Clone)]
struct AppState;

// The state is extracted as `State<AppState>`, not as `AppState`.
#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage, _: MessageContext, _app: AppState) -> String {
    msg.content
}

fn main() {
    // Reported here, where the router's state is known.
    let _ = Router::new().handler(echo).with_state(AppState);
}
