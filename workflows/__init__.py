"""What the process is: the workflow (states and moves, declared once as data) and the local
procedure presets (TOML policies). Nothing here opens the database."""

from pathlib import Path

PRESETS_DIR = Path(__file__).parent
