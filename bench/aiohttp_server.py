#!/usr/bin/env python3
"""Python aiohttp with the routes of bench/src/bin/sansweb_server.rs (the original we
measure against). One process, one event loop; access log off.

    bench/aiohttp_server.py HOST:PORT
"""
import sys
from aiohttp import web

DOWNLOAD, PIECE = 16 << 20, 64 << 10
BLOB, CHUNK = b"x" * DOWNLOAD, b"x" * PIECE

async def hello(request):
    await request.read()
    return web.Response(text="Hello, World!")

async def echo(request):
    return web.json_response(await request.json())

async def upload(request):
    total = 0
    async for chunk in request.content.iter_any():
        total += len(chunk)
    return web.Response(text=str(total))

async def sized(request):
    return web.Response(body=BLOB, content_type="application/octet-stream")

async def chunked(request):
    response = web.StreamResponse()
    response.content_type = "application/octet-stream"
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(DOWNLOAD // PIECE):
        await response.write(CHUNK)
    await response.write_eof()
    return response

app = web.Application(client_max_size=64 << 20)
app.add_routes([web.get("/", hello), web.post("/echo", echo), web.post("/upload", upload),
                web.get("/download/sized", sized), web.get("/download/chunked", chunked)])
host, port = sys.argv[1].rsplit(":", 1)
print(f"aiohttp bench server on http://{host}:{port}", flush=True)
web.run_app(app, host=host, port=int(port), access_log=None, print=None)
