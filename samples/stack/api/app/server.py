"""The API: GET /api/items lists what the seed job stored and counts visits."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from store import Store


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = {"ok": True}
        elif self.path == "/api/items":
            db = Store()
            body = {"greeting": os.environ.get("GREETING", "hello"),
                    "items": db.call("LRANGE", "items", 0, -1),
                    "visits": db.call("INCR", "visits")}
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
        if self.path == "/health":
            return
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    print("api listening on :8000", flush=True)
    ThreadingHTTPServer(("", 8000), Handler).serve_forever()
