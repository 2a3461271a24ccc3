#!/usr/bin/env python3
"""Measures a Lambda binary's cold start on this machine, without Docker.

Serves the Lambda Runtime API on loopback, starts the function's `bootstrap`, and reports:
  init  - from process start to its first `GET /runtime/invocation/next` (cold-start init: config,
          SDK clients, queue lookups, secrets);
  first - from handing it the event to its response.
Usage: lambda-init.py BOOTSTRAP EVENT.json [ENV=VALUE ...]   (the function reads the AWS_*/TRUEREEL_* env)
"""
import http.server, json, os, subprocess, sys, threading, time

bootstrap, event_file, *env_pairs = sys.argv[1:]
event = open(event_file, "rb").read()
marks, done = {}, threading.Event()


class Api(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            if "init" in marks:  # a second poll: the first invocation is answered; stop serving
                done.wait(5)
                self.send_response(410)
                self.end_headers()
                return
            marks["init"] = time.monotonic()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:t")
            self.send_header("Content-Length", str(len(event)))
            self.end_headers()
            self.wfile.write(event)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        marks["response"] = (time.monotonic(), self.path, self.rfile.read(n).decode())
        self.send_response(202)
        self.end_headers()
        done.set()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_port}", AWS_LAMBDA_FUNCTION_NAME="t",
           AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_FUNCTION_VERSION="1")
env.update(p.split("=", 1) for p in env_pairs)
start = time.monotonic()
proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
deadline = time.monotonic() + 60
while not done.wait(0.05) and proc.poll() is None and time.monotonic() < deadline:
    pass
ok = done.is_set()
proc.kill()
if not ok or "init" not in marks:
    sys.exit(f"no response: {proc.stderr.read().decode()[-2000:]}")
t, path, body = marks["response"]
print(json.dumps({"binary": os.path.basename(os.path.dirname(bootstrap)) or bootstrap,
                  "init_ms": round((marks["init"] - start) * 1000, 1),
                  "first_invocation_ms": round((t - marks["init"]) * 1000, 1),
                  "outcome": "error" if path.endswith("/error") else "ok", "response": body[:200]}))
