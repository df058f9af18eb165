use wechat_tower::message::TextMessage;
use wechat_tower::{Router, State, wechat_handler};

#[derive(Clone)]
struct AppState;

#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage, State(_app): State<AppState>) -> String {
    msg.content
}

fn main() {
    // No `.with_state(AppState)`: the router's state is `()`.
    let _ = Router::new().handler(echo).build();
}
