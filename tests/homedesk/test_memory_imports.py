"""What a `homedesk run --role bot` process imports (issue 17, memory): the Telegram channel and the application
without the console, the periodic jobs' scheduler, the migration tool or pypinyin's large tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
import homedesk.app, homedesk.cli, bot.channel, matching.districts, storage.migrate
loaded = sorted({name.split('.')[0] for name in sys.modules})
print(json.dumps({"loaded": loaded, "table": type(sys.modules["pypinyin.pinyin_dict"].pinyin_dict).__name__,
                  "phrases": "pypinyin.phrases_dict" in sys.modules}))
"""


def test_a_bot_process_loads_neither_console_nor_scheduler_nor_alembic() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    found = json.loads(result.stdout)
    assert {"aiogram", "bot", "dialogs", "matching", "storage", "pypinyin"} <= set(found["loaded"])
    assert not {"staff_console", "aiohttp_jinja2", "aiohttp_session", "cryptography", "apscheduler", "alembic",
                "mako", "pygments"} & set(found["loaded"])
    assert found["table"] == "CompactTable"
    assert found["phrases"] is False
