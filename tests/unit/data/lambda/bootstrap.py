#!/usr/bin/env python3
"""A Lambda runtime loop on the standard library, following the published
Runtime API (2018-06-01): ask for the next invocation, call the handler
named by _HANDLER ("module.function"), post its result or its error, and
report an import failure to /init/error. The unit tests of src/api/lambda.c
run it against devwatch's server as an independent client."""
import importlib
import json
import os
import sys
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, body, headers=None):
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(),
                                 method="POST", headers=headers or {})
    with urllib.request.urlopen(req) as resp:
        resp.read()


def error_body(exc):
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__)}


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        self.invoked_function_arn = headers["Lambda-Runtime-Invoked-Function-Arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module, _, name = os.environ.get("_HANDLER", "app.handler").rpartition(".")
    try:
        handler = getattr(importlib.import_module(module), name)
    except Exception as exc:  # the runtime reports any init failure
        post("/init/error", error_body(exc),
             {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        return 1
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as resp:
            event = json.loads(resp.read() or b"null")
            ctx = Context(resp.headers)
        try:
            result = handler(event, ctx)
        except Exception as exc:
            post("/invocation/" + ctx.aws_request_id + "/error", error_body(exc),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue
        post("/invocation/" + ctx.aws_request_id + "/response", result)


if __name__ == "__main__":
    sys.exit(main())
