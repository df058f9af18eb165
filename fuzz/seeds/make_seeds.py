#!/usr/bin/env python3
"""Regenerates fuzz/seeds/ and fuzz/data/ from the shared test vectors and the benchmark fixture.

Usage (from the repository root): python3 fuzz/seeds/make_seeds.py [SHARED_DIR]
SHARED_DIR defaults to ../shared (the `shared/` folder beside the repository).
"""
import json
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared")
vectors = os.path.join(shared, "vectors", "messages")
fixture = json.load(open(os.path.join(shared, "bench", "fixture.json"), encoding="utf-8"))


def write(target, name, data):
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


xmls = sorted(f for f in os.listdir(vectors) if f.endswith(".xml"))
for f in xmls:
    data = open(os.path.join(vectors, f), "rb").read()
    write("message_from_xml", f, data)
    write("xml_document", f, data)
plain = fixture["plain_xml"].encode()
body = fixture["encrypted_body"].encode()
write("message_from_xml", "fixture_plain.xml", plain)
write("xml_document", "fixture_plain.xml", plain)
write("xml_document", "fixture_encrypted_body.xml", body)

# decrypt_message: path A (the fixture body decrypts with the fixed signature), path B (the bare
# Encrypt value decrypts once signed), path D (mode 0x07 = framed + PKCS#7 + app id: a valid
# plaintext payload around a message; the 16 bytes after the mode byte are the random prefix).
write("decrypt_message", "fixture_encrypted_body.xml", body)
write("decrypt_message", "fixture_encrypt.b64", fixture["encrypt"].encode())
random = b"0123456789abcdef"
write("decrypt_message", "framed_fixture_plain.bin", b"\x07" + random + plain)
for f in ["text.xml", "event_click.xml", "event_subscribe_qrscene.xml", "event_pic_weixin.xml",
          "event_masssendjobfinish.xml", "location.xml", "edge_unknown_msgtype.xml"]:
    data = open(os.path.join(vectors, f), "rb").read()
    write("decrypt_message", "framed_" + f.replace(".xml", ".bin"), b"\x07" + random + data)
# Path D edge: a framed empty message (only random, length 0 and the app id).
write("decrypt_message", "framed_empty.bin", b"\x07" + random)

# miniprogram_decrypt: path A (key ‖ iv ‖ ciphertext of each decrypt vector: decrypts), path B
# (mode 0x01 = PKCS#7-padded plaintext under the official key and IV; the official plaintext
# decrypts, the others stop at the watermark), path C (session_key, iv, encryptedData, appid and
# rawData strings, one per line).
import base64  # noqa: E402

mp = json.load(open(os.path.join(shared, "vectors", "miniprogram_decrypt.json"), encoding="utf-8"))
for v in mp["decrypt_vectors"]:
    raw = b"".join(base64.b64decode(v[k]) for k in ("session_key", "iv", "encrypted_data"))
    write("miniprogram_decrypt", "a_" + v["id"] + ".bin", raw)
    write("miniprogram_decrypt", "b_" + v["id"] + ".bin", b"\x01" + v["expected_plaintext"].encode())
    lines = [v["session_key"], v["iv"], v["encrypted_data"], v["appid"], "{}"]
    write("miniprogram_decrypt", "c_" + v["id"] + ".txt", "\n".join(lines).encode())
write("miniprogram_decrypt", "b_no_watermark.bin", b'\x01{"openId":"o"}')
write("miniprogram_decrypt", "b_other_appid.bin",
      b'\x01{"watermark":{"timestamp":1,"appid":"wx0000000000000000"}}')
for v in mp["raw_data_signature_vectors"]:
    lines = [v["session_key"], "", "", "", v["raw_data"]]
    write("miniprogram_decrypt", "c_" + v["id"] + ".txt", "\n".join(lines).encode())

# pay_v3_notify (see fuzz_targets/pay_v3_notify.rs). data/pay_v3_notify_vectors.json: the two
# `notify_verify` vectors of pay_v3.json, as the target reads its fixed signatures from them.
# Path A: the vector bodies. Path B: "timestamp\nnonce\nsignature\nserial\nbody" of each vector.
# Path C: mode byte (bits 0-1: 0 transaction, 1 refund, 2 refund abnormal, 3 payscore; bit 2:
# empty associated_data) + resource plaintext.
data_dir = os.path.join(here, "..", "data")
import shutil  # noqa: E402

for pem in ["pay_v3_test_key.pem", "pay_v3_test_pub.pem", "pay_v3_wechatpay_go_test_cert.pem"]:
    shutil.copyfile(os.path.join(shared, "vectors", pem), os.path.join(data_dir, pem))
v3 = json.load(open(os.path.join(shared, "vectors", "pay_v3.json"), encoding="utf-8"))
notify = [v for v in v3["signature_vectors"] if v["kind"] == "notify_verify"]
with open(os.path.join(data_dir, "pay_v3_notify_vectors.json"), "w", encoding="utf-8") as f:
    json.dump(notify, f, ensure_ascii=False, indent=1)
    f.write("\n")
for v in notify:
    h = v["headers"]
    write("pay_v3_notify", "a_" + v["id"] + ".json", v["body"].encode())
    lines = [h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], h["Wechatpay-Signature"],
             h["Wechatpay-Serial"], v["body"]]
    write("pay_v3_notify", "b_" + v["id"] + ".txt", "\n".join(lines).encode())
aead = {v["id"]: v for v in v3["aead_vectors"]}
write("pay_v3_notify", "c_transaction_full.bin",
      b"\x00" + aead["generated_transaction_success"]["plaintext"].encode())
# The example of wechat-core's v3 module docs: only the fields a payment must carry.
write("pay_v3_notify", "c_transaction_minimal.bin",
      b'\x00{"mchid":"1230000109","appid":"wx1","out_trade_no":"no-1","transaction_id":"4200001",'
      b'"trade_type":"JSAPI","trade_state":"SUCCESS","amount":{"total":100}}')
# A refund resource with the fields of the official refund notification doc (退款结果通知),
# values generated.
refund = (b'{"mchid":"1900000100","transaction_id":"1008450740201411110005820873",'
          b'"out_trade_no":"20150806125346","refund_id":"50200207182018070300011301001",'
          b'"out_refund_no":"7752501201407033233368018","refund_status":"SUCCESS",'
          b'"success_time":"2018-06-08T10:34:56+08:00",'
          b'"user_received_account":"\xe6\x8b\x9b\xe5\x95\x86\xe9\x93\xb6\xe8\xa1\x8c\xe4\xbf\xa1\xe7\x94\xa8\xe5\x8d\xa10403",'
          b'"amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}}')
write("pay_v3_notify", "c_refund.bin", b"\x01" + refund)
write("pay_v3_notify", "c_refund_abnormal.bin",
      b"\x02" + refund.replace(b'"refund_status":"SUCCESS"', b'"refund_status":"ABNORMAL"'))
write("pay_v3_notify", "c_payscore.bin",
      b"\x03" + aead["wechatpay_go_notify_resource"]["plaintext"].encode())
write("pay_v3_notify", "c_empty_associated_data.bin",
      b"\x04" + aead["generated_empty_associated_data"]["plaintext"].encode())

# json_push (see fuzz_targets/json_push.rs). Path A: the JSON form of every message vector
# (elements as keys, repeated elements as arrays, digit strings as numbers, as a Mini Program
# receives them with 数据格式 JSON), the JSON pushes of wechat-tower's json.rs tests, and a few
# edge shapes. Path B: the XML vectors themselves. Path C takes the same bytes as plaintext.
import xml.etree.ElementTree as ET  # noqa: E402


def leaf(text):
    if text.isdigit() and text.isascii() and str(int(text)) == text and int(text) < 2**64:
        return int(text)
    return text


def json_form(el):
    out = {}
    for child in el:
        value = json_form(child) if len(child) else leaf(child.text or "")
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


for f in xmls:
    data = open(os.path.join(vectors, f), "rb").read()
    write("json_push", f, data)
    root = ET.fromstring(data)
    body = json.dumps(json_form(root), ensure_ascii=False, separators=(",", ":"))
    write("json_push", f.replace(".xml", ".json"), body.encode())
tower_tests = {
    "tower_text_cdata_end.json": '{"ToUserName":"gh_1","FromUserName":"oUser","CreateTime":1482048670,"MsgType":"text","Content":"a]]>b","MsgId":1234567890123456}',
    "tower_user_enter_tempsession.json": '{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sf"}',
    "tower_miniprogrampage.json": '{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"miniprogrampage","MsgId":2,"Title":"t","AppId":"wx","PagePath":"pages/a","ThumbUrl":"u","ThumbMediaId":"m"}',
    "edge_numbers.json": '{"ToUserName":"gh","FromUserName":"o","CreateTime":1.5e3,"MsgType":"location","Location_X":-23.5,"Location_Y":1e2,"Scale":15,"Label":null,"MsgId":18446744073709551615}',
    "edge_nested_arrays.json": '{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"pic_sysphoto","EventKey":"k","SendPicsInfo":{"Count":2,"PicList":{"item":[{"PicMd5Sum":"a"},{"PicMd5Sum":"b"}]}}}',
    "edge_bool_escapes.json": '{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"text","Content":"<&>\\u00e9\\ud83d\\ude00\\n","MsgId":[1,2],"Flag":true}',
}
for name, body in tower_tests.items():
    write("json_push", name, body.encode())

# Events the shared vectors do not cover (issue 15), from the samples of WeChat's documentation
# (freepublish "事件推送发布结果", security.mediaCheckAsync "异步检测结果推送"): the XML form to
# message_from_xml, the JSON form (as a Mini Program receives it) to json_push.
doc_samples = {
    ('message_from_xml', 'event_publishjobfinish.xml'): '<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName><FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName><CreateTime>1481013459</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id><![CDATA[b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvyWP4Hq4]]></article_id><article_detail><count>1</count><item><idx>1</idx><article_url><![CDATA[https://mp.weixin.qq.com/s/article]]></article_url></item></article_detail></PublishEventInfo></xml>',
    ('message_from_xml', 'event_publishjobfinish_failed.xml'): '<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_id>7</publish_id><publish_status>2</publish_status><fail_idx>1</fail_idx><fail_idx>3</fail_idx></PublishEventInfo></xml>',
    ('message_from_xml', 'event_wxa_media_check.xml'): '<xml><ToUserName><![CDATA[gh_38cc49f9733b]]></ToUserName><FromUserName><![CDATA[oH1fu0FdHqpToe2T6gBj0WyB8iS1]]></FromUserName><CreateTime>1626959646</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_media_check]]></Event><appid><![CDATA[wx8f16a5e4f3f6b4a5]]></appid><trace_id><![CDATA[60f96f1d-3845297a-1976a3ae]]></trace_id><version>2</version><detail><strategy><![CDATA[content_model]]></strategy><errcode>0</errcode><suggest><![CDATA[pass]]></suggest><label>100</label><prob>90</prob></detail><errcode>0</errcode><errmsg><![CDATA[ok]]></errmsg><result><suggest><![CDATA[pass]]></suggest><label>100</label></result></xml>',
    ('json_push', 'event_wxa_media_check.json'): '{"ToUserName":"gh_38cc49f9733b","FromUserName":"oH1fu0FdHqpToe2T6gBj0WyB8iS1","CreateTime":1626959646,"MsgType":"event","Event":"wxa_media_check","appid":"wx8f16a5e4f3f6b4a5","trace_id":"60f96f1d-3845297a-1976a3ae","version":2,"detail":[{"strategy":"content_model","errcode":0,"suggest":"risky","label":20002,"prob":90},{"strategy":"keyword","errcode":0,"suggest":"pass","label":100}],"errcode":0,"errmsg":"ok","result":{"suggest":"risky","label":20002}}',
    ('json_push', 'event_publishjobfinish.json'): '{"ToUserName":"gh_4d00ed8d6399","FromUserName":"oV5CrjpxgaGXNHIQigzNlgLTnwic","CreateTime":1481013459,"MsgType":"event","Event":"PUBLISHJOBFINISH","PublishEventInfo":{"publish_id":2247503051,"publish_status":2,"fail_idx":[1,3]}}',
}
for (target, name), body in doc_samples.items():
    write(target, name, body.encode())
