"""Executes notebooks through a Jupyter kernel with Debian's nbclient, as `jupyter execute` does.

usage: execute_notebooks.py <kernel name> <out dir> <file.ipynb>...
Writes <out dir>/<name>.ipynb per notebook and prints {"name": ..., "seconds": ...} per line.
Kernels are found through JUPYTER_PATH; the kernel runs in the notebook's folder.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient

kernel, out_dir, *paths = sys.argv[1:]
for path in paths:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=300, startup_timeout=120,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    t0 = time.time()
    client.execute()
    name = os.path.splitext(os.path.basename(path))[0]
    nbformat.write(nb, os.path.join(out_dir, name + ".ipynb"))
    print(json.dumps({"name": name, "seconds": round(time.time() - t0, 3)}), flush=True)
