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
