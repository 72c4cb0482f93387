"""The handler the lambda unit test invokes: echoes the event, counts
invocations, and raises when asked to."""
COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail: " + str(event["fail"]))
    return {"echo": event, "count": COUNT, "request": context.aws_request_id}
