# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SGLang's logging configuration keeps the API key out of the journal.

SGLang 0.5.21 (the pinned image's release) logs, from logger ``sglang.srt.entrypoints.engine``
at INFO, ``f"server_args={server_args.resolved_dict()}"``, which holds ``api_key`` in clear; its
``configure_logger`` (sglang/srt/utils/common.py) hands the file named by
SGLANG_LOGGING_CONFIG_PATH to ``logging.config.dictConfig`` before that line. The same call is
made here, in a fresh interpreter, with the loggers named as SGLang names them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "roles/engine_sglang/files/sglang-logging.json"

SGLANG_LIKE = r"""
import json, logging, logging.config, sys
# A logger made at import time, before the configuration (as SGLang's modules do).
http = logging.getLogger("sglang.srt.entrypoints.http_server")
with open(sys.argv[1]) as handle:
    logging.config.dictConfig(json.load(handle))
engine = logging.getLogger("sglang.srt.entrypoints.engine")
engine.info("server_args={'api_key': 'sk-SECRET-IN-CLEAR', 'port': 30000}")
engine.warning("engine warning stays")
http.info("The server is fired up and ready to roll!")
logging.getLogger("sglang.srt.model_executor.model_runner").info("Load weight end.")
"""


def run_with_config():
    completed = subprocess.run(
        [sys.executable, "-c", SGLANG_LIKE, str(CONFIG)],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout + completed.stderr


def test_the_server_args_line_with_the_key_is_not_logged():
    assert "sk-SECRET-IN-CLEAR" not in run_with_config()


def test_the_readiness_loading_and_warning_lines_still_are():
    output = run_with_config()
    assert "The server is fired up and ready to roll!" in output
    assert "Load weight end." in output
    assert "engine warning stays" in output
