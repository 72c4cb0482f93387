"""The report job: its /out is a dataset, stored in reports/ when it ends."""
import json
import os

from store import Store

db = Store()
report = {"schema": db.call("GET", "schema"), "items": db.call("LRANGE", "items", 0, -1)}
os.makedirs("/out", exist_ok=True)
with open("/out/report.json", "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
print("wrote /out/report.json with %d items" % len(report["items"]), flush=True)
