use wechat_tower::pay::Paid;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "notify")]
async fn paid(payment: Paid) -> String {
    payment.out_trade_no().to_owned()
}

fn main() {
    let _ = paid;
}
