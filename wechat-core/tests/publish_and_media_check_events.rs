//! `PUBLISHJOBFINISH` (发布能力 result push) and `wxa_media_check` (Mini Program media check
//! result push), read from the samples of WeChat's documentation (freepublish "事件推送发布结果"
//! and security.mediaCheckAsync "异步检测结果推送"), and their malformed variants.

use wechat_core::message::PublishStatus;
use wechat_core::{ErrorKind, Event, Message};

fn event(xml: &str) -> Event {
    match Message::from_xml(xml).expect("parses") {
        Message::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}

const PUBLISHED: &str = "<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>\
<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>\
<CreateTime>1481013459</CreateTime><MsgType><![CDATA[event]]></MsgType>\
<Event><![CDATA[PUBLISHJOBFINISH]]></Event>\
<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status>\
<article_id><![CDATA[b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvyWP4Hq4]]></article_id>\
<article_detail><count>1</count><item><idx>1</idx>\
<article_url><![CDATA[https://mp.weixin.qq.com/s/article]]></article_url></item></article_detail>\
</PublishEventInfo></xml>";

#[test]
fn a_published_job_names_its_article_and_urls() {
    let Event::PublishJobFinish(e) = event(PUBLISHED) else {
        panic!("not PUBLISHJOBFINISH")
    };
    assert_eq!(e.header.from_user_name, "oV5CrjpxgaGXNHIQigzNlgLTnwic");
    assert_eq!(e.publish_id, "2247503051");
    assert_eq!(e.publish_status, PublishStatus::Published);
    assert_eq!(
        e.article_id.as_deref(),
        Some("b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvyWP4Hq4")
    );
    assert_eq!(e.articles.len(), 1);
    assert_eq!(e.articles[0].idx, 1);
    assert_eq!(
        e.articles[0].article_url,
        "https://mp.weixin.qq.com/s/article"
    );
    assert!(e.fail_idx.is_empty());
    assert_eq!(
        Message::from_xml(PUBLISHED).unwrap().event_key(),
        None,
        "PUBLISHJOBFINISH carries no EventKey"
    );
}

#[test]
fn a_refused_job_lists_the_failed_articles() {
    let xml = "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>\
<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event>\
<PublishEventInfo><publish_id>7</publish_id><publish_status>2</publish_status>\
<fail_idx>1</fail_idx><fail_idx>3</fail_idx></PublishEventInfo></xml>";
    let Event::PublishJobFinish(e) = event(xml) else {
        panic!("not PUBLISHJOBFINISH")
    };
    assert_eq!(e.publish_status, PublishStatus::OriginalityFailed);
    assert_eq!(e.fail_idx, [1, 3]);
    assert_eq!(e.article_id, None);
    assert!(e.articles.is_empty());
    for code in [0, 2, 3, 4, 5, 6, 1, 99] {
        assert_eq!(PublishStatus::from_code(code).code(), code);
    }
    assert_eq!(PublishStatus::from_code(99), PublishStatus::Other(99));
}

#[test]
fn a_malformed_publish_push_is_an_error() {
    let base = "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>\
<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event>";
    let cases = [
        (
            format!("{base}</xml>"),
            ErrorKind::MissingField("PublishEventInfo"),
        ),
        (
            format!(
                "{base}<PublishEventInfo><publish_status>0</publish_status></PublishEventInfo></xml>"
            ),
            ErrorKind::MissingField("publish_id"),
        ),
        (
            format!(
                "{base}<PublishEventInfo><publish_id>1</publish_id><publish_status>x</publish_status></PublishEventInfo></xml>"
            ),
            ErrorKind::InvalidField("publish_status"),
        ),
        (
            format!(
                "{base}<PublishEventInfo><publish_id>1</publish_id><publish_status>2</publish_status><fail_idx>-1</fail_idx></PublishEventInfo></xml>"
            ),
            ErrorKind::InvalidField("fail_idx"),
        ),
    ];
    for (xml, kind) in cases {
        let err = Message::from_xml(&xml).expect_err(&xml);
        assert_eq!(err.kind(), &kind, "{xml}");
    }
}

const MEDIA_CHECK: &str = "<xml><ToUserName><![CDATA[gh_38cc49f9733b]]></ToUserName>\
<FromUserName><![CDATA[oH1fu0FdHqpToe2T6gBj0WyB8iS1]]></FromUserName>\
<CreateTime>1626959646</CreateTime><MsgType><![CDATA[event]]></MsgType>\
<Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[wx8f16a5e4f3f6b4a5]]></appid>\
<trace_id><![CDATA[60f96f1d-3845297a-1976a3ae]]></trace_id><version>2</version>\
<detail><strategy><![CDATA[content_model]]></strategy><errcode>0</errcode>\
<suggest><![CDATA[pass]]></suggest><label>100</label><prob>90</prob></detail>\
<errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg>\
<result><suggest><![CDATA[pass]]></suggest><label>100</label></result></xml>";

#[test]
fn a_media_check_verdict_is_typed() {
    let Event::WxaMediaCheck(e) = event(MEDIA_CHECK) else {
        panic!("not wxa_media_check")
    };
    assert_eq!(e.appid, "wx8f16a5e4f3f6b4a5");
    assert_eq!(e.trace_id, "60f96f1d-3845297a-1976a3ae");
    assert_eq!(e.version, 2);
    assert_eq!(e.errcode, 0);
    let result = e.result.as_ref().expect("result");
    assert_eq!((result.suggest.as_str(), result.label), ("pass", 100));
    assert_eq!(e.detail.len(), 1);
    assert_eq!(e.detail[0].strategy, "content_model");
    assert_eq!(e.detail[0].prob, Some(90));
    assert!(e.passed());
}

#[test]
fn a_risky_or_failed_check_does_not_pass() {
    let risky = MEDIA_CHECK.replace(
        "<result><suggest><![CDATA[pass]]></suggest><label>100</label></result>",
        "<result><suggest>risky</suggest><label>20002</label></result>",
    );
    let Event::WxaMediaCheck(e) = event(&risky) else {
        panic!("not wxa_media_check")
    };
    assert!(!e.passed());
    let not_run = MEDIA_CHECK.replace(
        "<errcode>0</errcode><errmsg>",
        "<errcode>-1008</errcode><errmsg>",
    );
    let Event::WxaMediaCheck(e) = event(&not_run) else {
        panic!("not wxa_media_check")
    };
    assert_eq!(e.errcode, -1008);
    assert!(!e.passed(), "a check that did not run is no pass");
    // Version 1: `isrisky` only.
    let v1 = "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>\
<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>wxa_media_check</Event>\
<appid>wx</appid><trace_id>t</trace_id><isrisky>1</isrisky></xml>";
    let Event::WxaMediaCheck(e) = event(v1) else {
        panic!("not wxa_media_check")
    };
    assert_eq!((e.version, e.isrisky), (1, Some(1)));
    assert!(!e.passed());
    let Event::WxaMediaCheck(e) = event(&v1.replace("<isrisky>1", "<isrisky>0")) else {
        panic!("not wxa_media_check")
    };
    assert!(e.passed());
    // A push without its trace id cannot be matched to a request.
    let err = Message::from_xml(&MEDIA_CHECK.replace(
        "<trace_id><![CDATA[60f96f1d-3845297a-1976a3ae]]></trace_id>",
        "",
    ))
    .expect_err("no trace_id");
    assert_eq!(err.kind(), &ErrorKind::MissingField("trace_id"));
}
