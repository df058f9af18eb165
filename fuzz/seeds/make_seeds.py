#!/usr/bin/env python3
"""Regenerates fuzz/seeds/ from the shared test vectors and the benchmark fixture.

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
