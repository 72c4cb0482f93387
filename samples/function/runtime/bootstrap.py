"""A small AWS Lambda custom runtime on Python's standard library.

It follows the published Runtime API, version 2018-06-01, at the address
in AWS_LAMBDA_RUNTIME_API (which devwatch, like Lambda, gives the
container), as Lambda's own runtime interface clients do:

1. Import the handler, "module.function" (argv[1], else _HANDLER), from
   LAMBDA_TASK_ROOT. If that fails, POST /runtime/init/error and wait to
   be restarted: devwatch restarts the container when the code changes.
2. Then loop: GET /runtime/invocation/next (a long poll) hands out one
   event with its request id; call the handler with the event and a
   context; POST what it returns to /runtime/invocation/ID/response, or
   the exception it raised to /runtime/invocation/ID/error.

Like Lambda it logs START, END and REPORT lines per invocation.
"""
import http.client
import importlib
import json
import os
import signal
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, _, PORT = API.rpartition(":")
BASE = "/2018-06-01/runtime"


def call(method, path, body=None, headers=None):
    """One request; (status, headers, body). No timeout: /next waits."""
    conn = http.client.HTTPConnection(HOST, int(PORT))
    try:
        conn.request(method, BASE + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def error_body(error_type, message, tb=None):
    return json.dumps({
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": traceback.format_list(traceback.extract_tb(tb)) if tb else [],
    }).encode()


def post_error(path, error_type, message, tb=None):
    call("POST", path, error_body(error_type, message, tb),
         {"Content-Type": "application/json",
          "Lambda-Runtime-Function-Error-Type": error_type})


def load(spec):
    """The handler function, or raise (error type, message)."""
    module, _, name = spec.rpartition(".")
    if not module:
        raise LookupError("Runtime.MalformedHandlerName",
                          "bad handler '%s': expected module.function" % spec)
    try:
        mod = importlib.import_module(module)
    except SyntaxError as e:
        raise LookupError("Runtime.UserCodeSyntaxError",
                          "Syntax error in module '%s': %s" % (module, e)) from e
    except Exception as e:
        raise LookupError("Runtime.ImportModuleError",
                          "Unable to import module '%s': %s" % (module, e)) from e
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise LookupError("Runtime.HandlerNotFound",
                          "Handler '%s' missing on module '%s'" % (name, module))
    return fn


class Context:
    """What a Lambda handler's second argument offers."""

    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.client_context = headers.get("Lambda-Runtime-Client-Context")
        self.identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def invoke(handler, headers, body):
    ctx = Context(headers)
    rid = ctx.aws_request_id
    if "Lambda-Runtime-Trace-Id" in headers:
        os.environ["_X_AMZN_TRACE_ID"] = headers["Lambda-Runtime-Trace-Id"]
    print("START RequestId: %s Version: %s" % (rid, ctx.function_version), flush=True)
    began = time.monotonic()
    try:
        event = json.loads(body) if body else {}
    except ValueError as e:
        post_error("/invocation/%s/error" % rid, "Runtime.UnmarshalError",
                   "the event is not JSON: %s" % e)
    else:
        try:
            result = handler(event, ctx)
        except Exception as e:
            traceback.print_exc()
            sys.stderr.flush()
            post_error("/invocation/%s/error" % rid, type(e).__name__, str(e),
                       e.__traceback__)
        else:
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as e:
                post_error("/invocation/%s/error" % rid, "Runtime.MarshalError",
                           "the result is not JSON-serialisable: %s" % e)
            else:
                call("POST", "/invocation/%s/response" % rid, out,
                     {"Content-Type": "application/json"})
    print("END RequestId: %s" % rid, flush=True)
    print("REPORT RequestId: %s\tDuration: %.2f ms"
          % (rid, (time.monotonic() - began) * 1000), flush=True)


def main():
    # PID 1 ignores SIGTERM unless it asks for it: stop at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    spec = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    try:
        handler = load(spec)
    except LookupError as e:
        error_type, message = e.args
        print("init failed: %s: %s" % (error_type, message), file=sys.stderr, flush=True)
        post_error("/init/error", error_type, message)
        while True:
            signal.pause()
    while True:
        try:
            status, headers, body = call("GET", "/invocation/next")
        except OSError as e:
            print("runtime API at %s: %s; trying again" % (API, e), file=sys.stderr, flush=True)
            time.sleep(0.5)
            continue
        if status != 200:
            # 410: the server ended this poll (the function was reset).
            time.sleep(0.05)
            continue
        try:
            invoke(handler, headers, body)
        except OSError as e:
            print("runtime API at %s: %s" % (API, e), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
