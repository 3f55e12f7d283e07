"""onnx.checker on ONNX files (the ONNX library's own validity check, topological order included).

    python python/onnx_check.py FILE [FILE ...]

Checks each file by path (external data is looked up beside it) and prints a JSON list of
{"file", "ok", "error", "unsorted"}: "unsorted" names the first node that reads a value no earlier
node, graph input or initializer gives (null when the nodes are in topological order) — found
separately because the checker stops at the first problem, such as an operator it does not know.
"""

from __future__ import annotations

import json
import sys

import onnx


def first_unsorted(path):
    graph = onnx.load(path, load_external_data=False).graph
    known = {""} | {i.name for i in graph.input} | {t.name for t in graph.initializer}
    for node in graph.node:
        missing = [i for i in node.input if i not in known]
        if missing:
            return f"{node.name} reads {missing[0]} before it is made"
        known.update(node.output)
    return None


def main(paths):
    out = []
    for p in paths:
        try:
            onnx.checker.check_model(p)
            ok, error = True, None
        except Exception as e:  # the checker's own message is the point
            ok, error = False, f"{type(e).__name__}: {e}"
        out.append({"file": p, "ok": ok, "error": error, "unsorted": first_unsorted(p)})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
