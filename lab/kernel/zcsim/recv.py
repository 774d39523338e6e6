#!/usr/bin/env python3
"""Receiver for zcsim: accept connections on 127.0.0.1:PORT (--bind ADDR: another local address),
read and discard, check the pattern.

zcsim sends pages of 4096 bytes: "zcsim cmd <id> page <i>\n" + NUL in the first 64 bytes, and the
letter chr(ord('a') + i % 26) to the end of the page. Prints one line per connection:
  conn <n> bytes=<b> pages=<p> bad_pages=<k>
Runs until killed (SIGTERM/SIGINT) or, with --once, until the first connection closes.
--any: count the bytes only, check no pattern (lab/kernel/zctarget's PDUs: a header, then pages).
"""
import re
import socket
import sys

PAGE = 4096
HDR = re.compile(rb"zcsim cmd (\d+) page (\d+)\n")


def check_page(buf):
    m = HDR.match(buf)
    if not m:
        return False
    i = int(m.group(2))
    return buf[64:] == bytes([ord("a") + i % 26]) * (PAGE - 64)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5001
    once = "--once" in sys.argv
    any_data = "--any" in sys.argv
    bind = sys.argv[sys.argv.index("--bind") + 1] if "--bind" in sys.argv else "127.0.0.1"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # a large receive buffer (inherited by accepted sockets): the window never holds zcsim back
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((bind, port))
    s.listen(8)
    print(f"listening {bind}:{port}", flush=True)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        total = pages = bad = 0
        pend = b""
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            total += len(b)
            if not any_data:
                pend += b
            while len(pend) >= PAGE and not any_data:
                pages += 1
                bad += not check_page(pend[:PAGE])
                pend = pend[PAGE:]
        c.close()
        print(f"conn {n} bytes={total} pages={pages} bad_pages={bad} tail={len(pend)}", flush=True)
        if once:
            return


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
