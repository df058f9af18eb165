use wechat_tower::message::TextMessage;
use wechat_tower::Router;

async fn echo(msg: TextMessage) -> String {
    msg.content
}

fn main() {
    let _: Router = Router::new().handler(echo);
}
