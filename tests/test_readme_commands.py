"""Every command block of README.md and docs/*.md runs as written (issue 8, point 18).

The convention (README, Development):

- a block fenced ```sh is run with bash (`set -euo pipefail`) and must exit 0;
- a block fenced ```sh server ends with a command that serves: the lines before it run as
  above, then the server is started on a free port (its `--port` and `--host` replaced), must
  answer `/healthz`, and is stopped;
- a block fenced ```sh no-run: REASON is only shown; the reason is required.

The blocks run in order, like a reader who follows them: in a copy of the project's tracked
files, with a fresh LEERID_HOME and the virtual environment's bin first on PATH. Shell
variables set by one block reach the next. A reader starts afresh at each document, and at
the README's sections listed in ``STARTS``: each such start is a test of its own (so the
tests spread over the workers); the state it needs from the pages before it (``SETUP``) is
made in this process, the way those pages make it.
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
from tests.conftest import run_leerid_here

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<lang>[a-z]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
KINDS = ("", "server", "no-run")


# The README's sections a reader can start at (a heading's start): the kit's needs only a
# DOV database, not the registry, protocols and clients before it.
STARTS = {"README.md": ("### Service-provider kit and LARS",)}
# What a start needs from the pages before it: `leerid` commands, run in this process.
REGISTRY = [  # the README's registry (its first block), which the pupils' schools come from
    ["registry", "generate", "--pupils", "50", "--seed", "1", "--out", "discimus/"],
    ["registry", "import", "discimus/"],
]
SETUP: dict[str, list[list[str]]] = {
    "README.md#Service-provider kit and LARS": [["db", "upgrade"]],
    "docs/dov-retention.md": REGISTRY,
    "docs/login.md": REGISTRY,
}


@dataclass(frozen=True)
class Block:
    where: str  # FILE:LINE of the opening fence
    kind: str  # "", "server" or "no-run"
    reason: str
    body: str
    start: str  # the document, or "README.md#SECTION" for a start in STARTS


def command_blocks() -> list[Block]:
    found: list[Block] = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        name = str(doc.relative_to(ROOT))
        starts = [(text.find(f"\n{h}"), h.lstrip("# ")) for h in STARTS.get(name, ())]
        starts = [(at, h) for at, h in starts if at >= 0]  # one gone: the check test says
        for match in FENCE.finditer(text):
            if match["lang"] not in SHELLS:
                continue
            line = text.count("\n", 0, match.start()) + 1
            where = f"{name}:{line}"
            kind, _, reason = match["info"].strip().partition(":")
            kind = f"{match['lang']} {kind.strip()}"
            sections = [f"{name}#{h}" for at, h in starts if at < match.start()]
            start = sections[-1] if sections else name
            found.append(Block(where, kind, reason.strip(), match["body"], start))
    return found


def reading_starts() -> list[str]:
    """Each place a reader starts afresh that has a block to run, in the pages' order."""
    return list(dict.fromkeys(b.start for b in command_blocks() if b.kind != "sh no-run"))


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
            f"{block.where}: exit {result.returncode}; fix the block or the command (a fresh "
            f"LEERID_HOME, after the blocks before it from {block.start})\n{commands}\n"
            f"{result.stdout}{result.stderr}"
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

    def prepare(self, start: str) -> None:
        """What ``start`` needs from the pages before it (``SETUP``), made in this process."""
        env = {**self.env, "COLUMNS": "120"}
        for args in SETUP.get(start, []):
            args = [str(self.project / a) if a.endswith("/") else a for a in args]
            done = run_leerid_here(args, env)
            assert done.returncode == 0, f"{start}: setting up `leerid {' '.join(args)}`: {done}"


def test_every_start_of_starts_and_setup_is_in_the_pages() -> None:
    """Every start of STARTS and SETUP exists, so a renamed heading or document is noticed."""
    starts = reading_starts()
    assert len(starts) >= 6, starts
    for doc, headings in STARTS.items():
        for heading in headings:
            assert f"{doc}#{heading.lstrip('# ')}" in starts, (
                f"{doc}: no heading starts with {heading!r} (STARTS): rename it there too"
            )
    assert set(SETUP) <= set(starts), sorted(set(SETUP) - set(starts))


@pytest.mark.timeout(900)  # up to 25 commands, 1-2 s each on an idle machine; more when loaded
@pytest.mark.parametrize("start", reading_starts())
def test_the_documented_commands_run_as_written(start: str, tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    reader.prepare(start)
    for block in command_blocks():
        if block.kind == "sh no-run" or block.start != start:
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
