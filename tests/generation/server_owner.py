"""A stand-in for a stage that owns a local server: `python server_owner.py MODEL_DIR [vllm]`.

It starts `LocalServer` (vLLM's OpenAI server with the `vllm` argument, else the bundled
hf server), prints {"pid", "base_url"} as one JSON line once the server is healthy, and
waits to be killed, so tests can kill it the hardest way (SIGKILL) and look for leftovers.
"""

import json
import sys
import time

from slm_math.generation import LocalServer
from slm_math.generation.vllm_env import cpu_env, vllm_server_command

if __name__ == "__main__":
    model, kind = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "hf"
    if kind == "vllm":
        server = LocalServer(model, command=vllm_server_command(max_model_len=2048, served_name="smol"),
                             env=cpu_env(kv_cache_gib=1), startup_timeout_s=600)
    else:
        server = LocalServer(model, server_args=["--device", "cpu", "--served-name", "smol"],
                             startup_timeout_s=600)
    with server:
        print(json.dumps({"pid": server.pid, "base_url": server.base_url}), flush=True)
        while True:
            time.sleep(60)
