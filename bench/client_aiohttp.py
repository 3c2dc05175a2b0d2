"""Python aiohttp's ClientSession: the third column of bench/client.sh.

python3 bench/client_aiohttp.py seq|conc|download BASE_URL N [CONCURRENCY]
Prints "units_per_second cpu_us_per_unit" like the Rust clients.
"""
import asyncio
import os
import sys
import time

import aiohttp


async def main():
    scenario = sys.argv[1]
    base = sys.argv[2]
    n = int(sys.argv[3])
    conc = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    connector = aiohttp.TCPConnector(limit=max(conc, 1))
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as s:
        hello = base + "/"
        for _ in range(100):
            async with s.get(hello) as r:
                await r.read()
        cpu0 = sum(os.times()[:2])
        t0 = time.perf_counter()
        if scenario == "seq":
            for _ in range(n):
                async with s.get(hello) as r:
                    assert len(await r.read()) == 13
            units = n
        elif scenario == "conc":
            per = n // conc

            async def worker():
                for _ in range(per):
                    async with s.get(hello) as r:
                        assert len(await r.read()) == 13

            await asyncio.gather(*(worker() for _ in range(conc)))
            units = per * conc
        elif scenario == "download":
            total = 0
            for _ in range(n):
                async with s.get(base + "/16m") as r:
                    async for chunk in r.content.iter_any():
                        total += len(chunk)
            assert total == n << 24
            units = total >> 20
        else:
            raise SystemExit("unknown scenario " + scenario)
        wall = time.perf_counter() - t0
        cpu = sum(os.times()[:2]) - cpu0
        print("%.1f %.3f" % (units / wall, cpu * 1e6 / units))


asyncio.run(main())
