"""Write a report of the items into /out. /out is a dataset: when this job
ends, devwatch copies it into reports/latest in the project."""
import json
import os

import redis

db = redis.Redis(host="db", port=6379, decode_responses=True)
items = db.lrange("items", 0, -1)
os.makedirs("/out", exist_ok=True)
with open("/out/report.json", "w") as f:
    json.dump({"count": len(items), "items": items}, f, indent=2)
print("report: %d items written to /out/report.json" % len(items), flush=True)
