"""The seed job: the API waits for it ("completed") before it starts."""
from store import Store

ITEMS = ["tea", "coffee", "cocoa"]

db = Store()
db.call("DEL", "items")
for item in ITEMS:
    db.call("RPUSH", "items", item)
db.call("SET", "schema", "1")
print("seeded %d items" % len(ITEMS), flush=True)
