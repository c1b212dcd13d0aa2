"""An HTTP receiver for the end-to-end tests: it accepts POSTed bodies and appends every line of
each body it answers 2xx to an output file, flushed before it answers. Optionally flaky: it can
answer slowly or answer 503 (and then records nothing), each with a given probability.

Usage: python3 receiver.py PORT OUT_FILE [--seed N] [--slow P] [--fail P] [--max-delay SECS]
"""

import argparse
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--fail", type=float, default=0.0)
    parser.add_argument("--max-delay", type=float, default=1.0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self):
            self.answer(200)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", "replace")
            with lock:
                slow = rng.random() < args.slow
                fail = rng.random() < args.fail
                delay = rng.uniform(0.05, args.max_delay)
            if slow:
                time.sleep(delay)
            if fail:
                self.answer(503)
                return
            lines = [line for line in body.splitlines() if line]
            with lock:
                for line in lines:
                    out.write(line + "\n")
                out.flush()
            self.answer(200)

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
