"""A small HTTP JSON service: GET / answers a message, GET /health is ok."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from greeting import greeting


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = {"ok": True}
        elif self.path == "/":
            body = {"message": greeting(os.environ.get("MESSAGE", "hello")),
                    "version": 1}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print("listening on :%d" % port, flush=True)
    ThreadingHTTPServer(("", port), Handler).serve_forever()
