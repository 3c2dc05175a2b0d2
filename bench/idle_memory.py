#!/usr/bin/env python3
"""RSS per idle keep-alive connection: open N connections to a server, send one request
on each and read its response (so every connection went through a full exchange), then
leave them idle and read the server's VmRSS. Prints KB per connection.

    bench/idle_memory.py PID HOST:PORT [N=2000] [--table]
"""
import socket, sys, time

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

table = "--table" in sys.argv
argv = [a for a in sys.argv if a != "--table"]
pid, target = int(argv[1]), argv[2]
n = int(argv[3]) if len(argv) > 3 else 2000
host, port = target.rsplit(":", 1)
request = f"GET / HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
time.sleep(0.3)
before = rss_kb(pid)
socks = []
for _ in range(n):
    s = socket.create_connection((host, int(port)))
    s.sendall(request)
    data = b""
    while b"Hello, World!" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    socks.append(s)
time.sleep(1.0)
after = rss_kb(pid)
for s in socks:
    s.close()
time.sleep(1.0)
closed = rss_kb(pid)
if table:
    print(f"{before} | {after} | {(after - before) / n:.2f} | {closed}")
else:
    print(f"{n} idle connections: RSS {before} KB -> {after} KB, {(after - before) / n:.2f} KB per connection")
    print(f"after closing them: RSS {closed} KB")
