"""Drives a Jupyter kernel with Debian's jupyter_client, the way a notebook front end does.

Reads {"kernel": name, "steps": [...]} as JSON on stdin and prints one JSON result per step.
Steps: {"op": "start"} | {"op": "execute", "code": str, "interrupt_after": seconds?, "timeout": s?}
| {"op": "is_complete" | "complete" | "inspect", "code": str, "cursor": int?} | {"op": "restart"}
| {"op": "shutdown"}. Kernels are found through JUPYTER_PATH, as Jupyter itself finds them.
"""
import json
import sys
import threading
import time

from jupyter_client.manager import KernelManager

spec = json.load(sys.stdin)
km = KernelManager(kernel_name=spec["kernel"])
kc = None


def emit(result):
    print(json.dumps(result), flush=True)


def reply_to(msg_id, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_shell_msg(timeout=deadline - time.time())
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise TimeoutError(f"no reply to {msg_id}")


def start():
    global kc
    t0 = time.time()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return {"op": "start", "seconds": round(time.time() - t0, 3)}


def execute(step):
    outputs = []

    def hook(msg):
        kind = msg["msg_type"]
        if kind in ("stream", "display_data", "execute_result", "error"):
            c = msg["content"]
            outputs.append({"type": kind, **{k: c[k] for k in ("name", "text", "data", "ename", "evalue", "traceback") if k in c}})

    timer = None
    if "interrupt_after" in step:
        timer = threading.Timer(step["interrupt_after"], km.interrupt_kernel)
        timer.start()
    t0 = time.time()
    reply = kc.execute_interactive(step["code"], output_hook=hook, timeout=step.get("timeout", 60))
    if timer:
        timer.cancel()
    content = reply["content"]
    return {"op": "execute", "status": content["status"], "count": content.get("execution_count"),
            "outputs": outputs, "ms": round((time.time() - t0) * 1000, 1)}


def request(step):
    code = step["code"]
    cursor = step.get("cursor", len(code))
    op = step["op"]
    if op == "is_complete":
        msg_id = kc.is_complete(code)
    elif op == "complete":
        msg_id = kc.complete(code, cursor)
    else:
        msg_id = kc.inspect(code, cursor)
    return {"op": op, **reply_to(msg_id)["content"]}


def restart():
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    return {"op": "restart", "alive": km.is_alive()}


def shutdown():
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    return {"op": "shutdown", "alive": km.is_alive()}


try:
    for step in spec["steps"]:
        op = step["op"]
        if op == "start":
            emit(start())
        elif op == "execute":
            emit(execute(step))
        elif op in ("is_complete", "complete", "inspect"):
            emit(request(step))
        elif op == "restart":
            emit(restart())
        elif op == "shutdown":
            emit(shutdown())
        else:
            raise ValueError(f"unknown step {op}")
finally:
    if km.has_kernel and km.is_alive():
        km.shutdown_kernel(now=True)
