"""README's configuration table lists every setting in daemon/config.py."""

import re
from pathlib import Path

import msgspec

from daemon.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text()
    table = text[text.index("## Configuration") : text.index("## How it fits together")]
    listed = set(re.findall(r"`(?:PAPERTRADE)?_([A-Z0-9_]+)`", table))
    missing = [
        f.name.upper() for f in msgspec.structs.fields(Settings) if f.name.upper() not in listed
    ]
    assert missing == []
