use wechat_tower::message::TextMessage;
use wechat_tower::{Router, State, wechat_handler};

#[derive(Clone)]
struct AppState;

#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage, State(_app): State<AppState>) -> String {
    msg.content
}

fn main() {
    // `with_state` before mounting (an axum habit): the handler is mounted on a `Router<()>`.
    let _ = Router::new().with_state(AppState).handler(echo).build();
}
