"""Seed the database: the job the API waits for (depends_on: completed).
Idempotent: it adds the items only when the list is empty. Exits 0 on
success, so `up` goes on; any other code fails `up`."""
import redis

SEED = ["keyboard", "monitor", "mouse"]

db = redis.Redis(host="db", port=6379, decode_responses=True)
if db.llen("items") == 0:
    db.rpush("items", *SEED)
print("migrate: %d items in redis" % db.llen("items"), flush=True)
