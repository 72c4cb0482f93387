"""The stack sample's API: the items the migration stored in Redis, as JSON.

GET /health answers once Redis does; GET /items lists the items. Edit this
file while `devwatch up` runs: it is synced into /app and the container
restarts (restart_container), while the database and the web container
keep running.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

DB = redis.Redis(host=os.environ.get("DB_HOST", "db"), port=6379, decode_responses=True)
MESSAGE = "items from redis"


class Handler(BaseHTTPRequestHandler):
    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            if self.path == "/health":
                DB.ping()
                self.send_json(200, {"ok": True})
            elif self.path == "/items":
                self.send_json(200, {"message": MESSAGE, "items": DB.lrange("items", 0, -1)})
            else:
                self.send_json(404, {"error": "no such path: " + self.path})
        except redis.RedisError as e:
            self.send_json(503, {"error": "redis: %s" % e})

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    print("api listening on :8000", flush=True)
    ThreadingHTTPServer(("", 8000), Handler).serve_forever()
