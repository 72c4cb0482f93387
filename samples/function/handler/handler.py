"""The function: called once per invocation with its event and context.

Edit it while `devwatch up` runs: the next invocation runs the new code.
"""
import os


def handle(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": "%s, %s!" % (os.environ.get("GREETING", "hello"), name)}
