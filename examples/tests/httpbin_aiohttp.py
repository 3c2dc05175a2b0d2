"""Python aiohttp's client against the sansweb httpbin app (run by httpbin_interop.rs).

usage: python3 httpbin_aiohttp.py http://127.0.0.1:PORT
Prints one line per check and "aiohttp interop: N checks passed"; any failure raises.
"""

import asyncio
import base64
import json
import sys
import time

import aiohttp

BASE = sys.argv[1]
checks = 0


def check(cond, what, got=None):
    global checks
    if not cond:
        raise AssertionError(f"{what}: got {got!r}")
    checks += 1
    print(f"ok {what}")


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": "Basic " + token}


async def main():
    jar = aiohttp.CookieJar(unsafe=True)  # the server is an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as s:
        async with s.get(BASE + "/get", params=[("a", "1"), ("b", "x y"), ("b", "2")]) as r:
            j = await r.json()
            check(r.status == 200, "GET status", r.status)
            check(j["args"] == {"a": "1", "b": ["x y", "2"]}, "GET args", j["args"])
            check(j["headers"]["Host"].startswith("127.0.0.1:"), "GET Host header", j["headers"])
            check(j["headers"]["User-Agent"].startswith("Python/"), "GET User-Agent", j["headers"])
            check(j["url"] in (BASE + "/get?a=1&b=x+y&b=2", BASE + "/get?a=1&b=x%20y&b=2"), "GET url", j["url"])
            check(j["origin"] == "127.0.0.1", "GET origin", j["origin"])

        async with s.post(BASE + "/post", json={"k": [1, 2], "s": "é"}) as r:
            j = await r.json()
            check(j["json"] == {"k": [1, 2], "s": "é"}, "POST json", j)
            check(j["headers"]["Content-Type"] == "application/json", "POST json type", j["headers"])

        async with s.post(BASE + "/post", data={"x": "1", "y": "two words&more"}) as r:
            j = await r.json()
            check(j["form"] == {"x": "1", "y": "two words&more"}, "POST form", j)
            check(j["data"] == "" and j["json"] is None, "POST form data/json", j)

        form = aiohttp.FormData()
        form.add_field("field", "value")
        form.add_field("file", b"file bytes\r\n--not-a-boundary\r\n", filename="a.txt",
                       content_type="text/plain")
        async with s.post(BASE + "/post", data=form) as r:
            j = await r.json()
            check(j["form"] == {"field": "value"}, "POST multipart form", j)
            check(j["files"] == {"file": "file bytes\r\n--not-a-boundary\r\n"}, "POST multipart files", j)

        async def gen():
            for i in range(5):
                yield f"part{i};".encode()
                await asyncio.sleep(0.01)

        async with s.put(BASE + "/put", data=gen()) as r:
            j = await r.json()
            check(j["data"] == "part0;part1;part2;part3;part4;", "PUT chunked upload", j)
            check(j["headers"].get("Transfer-Encoding") == "chunked", "chunked upload framing", j["headers"])

        async with s.get(BASE + "/cookies/set?k=v&k2=v2") as r:
            j = await r.json()
            check(str(r.url).endswith("/cookies"), "cookies/set redirected", r.url)
            check(j == {"cookies": {"k": "v", "k2": "v2"}}, "cookies set", j)
        async with s.get(BASE + "/cookies/delete?k") as r:
            j = await r.json()
            check(j == {"cookies": {"k2": "v2"}}, "cookies delete", j)

        for path, hops in [("/redirect/3", 3), ("/relative-redirect/2", 2),
                           ("/absolute-redirect/2", 2), ("/redirect-to?url=/get&status_code=307", 1)]:
            async with s.get(BASE + path) as r:
                j = await r.json()
                check(r.status == 200 and str(r.url) == BASE + "/get", f"redirects {path}", r.url)
                check(len(r.history) == hops, f"redirect hops {path}", len(r.history))

        async with s.get(BASE + "/stream/20") as r:
            check(r.headers.get("Transfer-Encoding") == "chunked", "stream is chunked", r.headers)
            ids = []
            async for line in r.content:
                ids.append(json.loads(line)["id"])
            check(ids == list(range(20)), "stream/20 lines", ids)

        for path, flag in [("/gzip", "gzipped"), ("/deflate", "deflated")]:
            async with s.get(BASE + path) as r:
                j = await r.json()
                check(j[flag] is True and j["method"] == "GET", f"{path} decoded", j)

        async with s.get(BASE + "/basic-auth/u/p", headers=basic("u", "p")) as r:
            check(r.status == 200 and (await r.json())["user"] == "u", "basic auth", r.status)
        async with s.get(BASE + "/basic-auth/u/p", headers=basic("u", "wrong")) as r:
            check(r.status == 401, "basic auth refused", r.status)

        async with s.get(BASE + "/status/418") as r:
            check(r.status == 418, "status 418", r.status)
        async with s.get(BASE + "/bytes/3000?seed=1") as r:
            b1 = await r.read()
        async with s.get(BASE + "/bytes/3000?seed=1") as r:
            b2 = await r.read()
        check(len(b1) == 3000 and b1 == b2, "seeded bytes", len(b1))
        async with s.get(BASE + "/range/26", headers={"Range": "bytes=3-6"}) as r:
            check(r.status == 206 and await r.text() == "defg", "range", r.status)

        started = time.monotonic()
        async with s.get(BASE + "/delay/1") as r:
            await r.json()
        took = time.monotonic() - started
        check(r.status == 200 and 0.9 < took < 5, "delay/1 timing", took)

        # Many requests on one session reuse the pooled keep-alive connection.
        conn = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=conn) as one:
            for _ in range(20):
                async with one.get(BASE + "/uuid") as r:
                    u = (await r.json())["uuid"]
            check(len(u) == 36 and u[14] == "4", "uuid", u)
    print(f"aiohttp interop: {checks} checks passed")


asyncio.run(main())
