"""Every command block of README.md and docs/*.md runs as written (issue 8, point 18).

The convention (README, Development):

- a block fenced ```sh is run with bash (`set -euo pipefail`) and must exit 0;
- a block fenced ```sh server ends with a command that serves: the lines before it run as
  above, then the server is started on a free port (its `--port` and `--host` replaced), must
  answer `/healthz`, and is stopped;
- a block fenced ```sh no-run: REASON is only shown; the reason is required.

The blocks run in order, README.md first and then docs/*.md by name, like a reader who
follows them: in a copy of the project's tracked files, with a fresh LEERID_HOME and the
virtual environment's bin first on PATH. Shell variables set by one block reach the next.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from leerid.testing.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[a-z]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
KINDS = ("", "server", "no-run")


@dataclass(frozen=True)
class Block:
    where: str  # FILE:LINE of the opening fence
    kind: str  # "", "server" or "no-run"
    reason: str
    body: str


def command_blocks() -> list[Block]:
    found: list[Block] = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match["lang"] not in SHELLS:
                continue
            line = text.count("\n", 0, match.start()) + 1
            where = f"{doc.relative_to(ROOT)}:{line}"
            kind, _, reason = match["info"].strip().partition(":")
            kind = f"{match['lang']} {kind.strip()}"
            found.append(Block(where, kind, reason.strip(), match["body"]))
    return found


def test_every_command_block_is_sh_and_says_why_when_it_is_not_run() -> None:
    blocks = command_blocks()
    assert len(blocks) >= 8
    for block in blocks:
        lang, _, kind = block.kind.partition(" ")
        assert lang == "sh", f"{block.where}: write command blocks as ```sh (not {lang})"
        assert kind in KINDS, f"{block.where}: unknown block kind {kind!r}; use one of {KINDS}"
        if kind == "no-run":
            assert len(block.reason) > 10, f"{block.where}: ```sh no-run: needs a reason"
    exceptions = [b for b in blocks if b.kind == "sh no-run"]
    assert len(exceptions) <= 4, [b.where for b in exceptions]  # the exceptions stay few


def _commands(body: str) -> list[str]:
    """The block's commands, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line for line in joined.splitlines() if line.strip()]


class Reader:
    """A shell session in a copy of the project, with a fresh home."""

    def __init__(self, tmp_path: Path) -> None:
        self.project = tmp_path / "project"
        files = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        for name in files:
            target = self.project / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, target)
        self.state = tmp_path / "shell-state.sh"
        self.state.write_text("", encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LEERID_", "PROMETHEUS_")) or k == "LEERID_TEST_DATABASE_URL"
        }
        env.pop("LEERID_TEST_DATABASE_URL", None)
        env["LEERID_HOME"] = str(tmp_path / "home")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["COLUMNS"] = "120"
        self.env = env

    def script(self, commands: str) -> str:
        return (
            f"source {self.state}\nset -euo pipefail\nset -a\n{commands}\n"
            f"export -p > {self.state}\n"
        )

    def run(self, block: Block, commands: str) -> None:
        result = subprocess.run(
            ["bash", "-c", self.script(commands)],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (
            f"{block.where}: exit {result.returncode}\n{commands}\n{result.stdout}{result.stderr}"
        )
        assert "Traceback" not in result.stderr, f"{block.where}: {result.stderr}"

    def serve(self, block: Block, command: str) -> None:
        port = free_port()
        assert re.search(r"--port \d+", command), f"{block.where}: a server block needs --port"
        command = re.sub(r"--port \d+", f"--port {port}", command)
        command = re.sub(r"--host \S+", "--host 127.0.0.1", command)
        server = subprocess.Popen(
            ["bash", "-c", f"source {self.state}\n{command}"],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            answered = False
            with httpx.Client(timeout=5) as http:
                while not answered and server.poll() is None and time.monotonic() < deadline:
                    try:
                        answered = http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                    except httpx.HTTPError:
                        time.sleep(0.3)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            output, _ = server.communicate(timeout=60)
        assert answered, f"{block.where}: `{command}` did not answer /healthz\n{output}"
        assert "Traceback" not in output, f"{block.where}: {output}"


@pytest.mark.timeout(900)  # about 40 commands, 1-2 s each on an idle machine; more when loaded
def test_the_documented_commands_run_as_written(tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    for block in command_blocks():
        if block.kind == "sh no-run":
            continue
        started = time.monotonic()
        commands = _commands(block.body)
        if block.kind == "sh server":
            if commands[:-1]:
                reader.run(block, "\n".join(commands[:-1]))
            reader.serve(block, commands[-1])
        else:
            reader.run(block, block.body)
        print(f"{block.where}: {time.monotonic() - started:.1f} s")  # shown with -s
