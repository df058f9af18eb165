-- wrk script of workload W5 (shared/bench/WORKLOADS.md): POST the fixture's safe-mode body to
-- the fixture's query, over keep-alive HTTP/1.1 connections (wrk's default).
--
--   wrk -t2 -c64 -d10s --timeout 2s --latency -s post.lua http://127.0.0.1:3000
--
-- The query and body are fixture.json's `query` and `encrypted_body`, byte for byte (a test of the
-- w5-bench crate checks that they still are). With only wrk.method/path/body/headers set, wrk
-- builds the request once and never calls Lua per request, so the script costs nothing.

wrk.method = "POST"
wrk.path = "/wechat?signature=fe8c2e62f2b737cc54b4fe05e32f4282a495af56&timestamp=1700000000&nonce=1234567890&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&encrypt_type=aes&msg_signature=f51ace043adab22571e0c8b75b3b915968bba022"
wrk.body = [==[<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[2xOJfg2n0+7iNDE5XlNVxMcOvU1VJARboveO9zfz1UtkdMozkLQ5kFHInxjZKCC/ExnKuAUkk9xj9TCU+6zLA7eHUjtDhiNk48sHM7St0NKwkIFAcFIvigml2dBT8ct3NI3ogBmOHx3myfBzU0r/O7qaDRO3/V6Cet4v7on9ZJ/LyiecQ8NEqldpxgMwjnca3CyYfKX0MBJTGalAzhf3dTuyPtT+kOm9+COvJ05DL/Oox1uiSlDyy13raDXDYw593nyvVWpdcZH8dmmJWQ+ftdbu9jMXjRk/YmpN9oQhy9ICDlesTDo6SA8AsI7V4P8grpD/A07EtilfkVD5k0rBwPboQc1F7T5i908EPYy4WzmU+iJ1cXyPHf4680d3o0xAkHWzPiQcDGjAFQffZvbeRTzzTPesb02Lvs4+TBPY0qxbi8rbu+F6vXhConglksMMjovO2D9eAQXSV8m19raJ9Q==]]></Encrypt></xml>]==]
wrk.headers["Content-Type"] = "text/xml"

-- One machine-readable line after wrk's own report, for run.sh:
-- W5 {"requests":..,"duration_s":..,"rps":..,"p50_ms":..,"p99_ms":..,"errors":..,"non2xx":..}
function done(summary, latency, requests)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'W5 {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    socket_errors + e.status, e.status))
end
