use wechat_tower::{Message, Router};

// A plain fn taking `Message` names no route: `Router::handler` cannot mount it.
async fn anything(_: Message) {}

fn main() {
    let _: Router = Router::new().handler(anything);
}
