"""Every example in docs/ runs against a live gateway and prints what the docs say, so the docs
cannot rot.

How docs/ marks its fenced blocks (the first word is the language, so they render as usual):

    ```bash run             run it (bash, `set -euo pipefail`), in the doc's order, one shell
                            per document: variables set by one block are there in the next
    ```json output          what the run block just above prints: one JSON value; every key shown
                            must be there with that value, "…" standing for any value
    ```text output          lines the run block above prints (in any order); "…" = anything
    ```python file=NAME     written to NAME in the run's directory before the first block runs
    ```bash setup           what a reader types to point the examples at their gateway; the test
                            supplies these variables itself, so it only checks that is all it does

Any other block in a code language is an error: an example that is never run would rot.
`toml` blocks must parse. Each document runs in a fresh directory against a fresh gateway
(embedded mode; the demo retailer's callbacks go to 127.0.0.1:$RECEIVER_PORT), with $GATEWAY,
$RETAILER_KEY, $OPERATOR_KEY, $CALLBACK_SECRET, $RECEIVER_PORT, $REDIS_URL, $PORT_A and $PORT_B
in the environment."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.app_server import OPERATOR_KEY, RETAILER_KEY, base_config, running_gateway
from support.redis_server import RedisServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DOCS = Path(__file__).resolve().parents[2] / "docs"
CODE_LANGUAGES = {"bash", "sh", "shell", "console", "python", "py", "js", "javascript", "mjs", "node", "ts"}
SUPPLIED = {"GATEWAY", "RETAILER_KEY", "OPERATOR_KEY", "CALLBACK_SECRET", "RECEIVER_PORT", "REDIS_URL"}
CALLBACK_SECRET = "docs-callback-secret"
WILDCARD = "…"
DOC_TIMEOUT = 90.0
FENCE = re.compile(r"^```(\S*)(.*)$")


@dataclass
class Block:
    language: str
    marker: str  # run, output, setup, file, or ""
    argument: str  # file=NAME's NAME
    text: str
    line: int


@dataclass
class Step:
    code: str
    line: int
    output: Block | None = None


@dataclass
class Document:
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


def blocks(path: Path) -> list[Block]:
    found, lines = [], path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        start, body = index, []
        while not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        words = opening[2].split()
        marker, argument = "", ""
        if words:
            marker, _, argument = words[0].partition("=")
        found.append(Block(opening[1], marker, argument, "\n".join(body) + "\n", start))
    return found


def parse(path: Path) -> Document:
    """The document's files and steps; refuses blocks this harness would not run."""
    doc = Document(path)

    def where(block: Block) -> str:
        return f"{path.name}:{block.line}"

    for block in blocks(path):
        if block.marker == "run":
            doc.steps.append(Step(block.text, block.line))
        elif block.marker == "output":
            assert doc.steps and doc.steps[-1].output is None, f"{where(block)}: output without a run block"
            doc.steps[-1].output = block
        elif block.marker == "file":
            assert re.fullmatch(r"[\w.-]+", block.argument), f"{where(block)}: file=NAME, a plain file name"
            doc.files[block.argument] = block.text
        elif block.marker == "setup":
            for line in filter(None, (line.strip() for line in block.text.splitlines())):
                if line.startswith("#"):
                    continue
                assert re.fullmatch(r"export (\w+)=\S+", line), f"{where(block)}: setup only exports: {line!r}"
                assert line.split()[1].partition("=")[0] in SUPPLIED, f"{where(block)}: {line!r} is not supplied"
        elif block.language.lower() in CODE_LANGUAGES:
            raise AssertionError(f"{where(block)}: a {block.language} block that is never run (mark it)")
        elif block.language == "toml":
            try:
                tomllib.loads(block.text)
            except tomllib.TOMLDecodeError as exc:
                raise AssertionError(f"{where(block)}: not valid TOML: {exc}") from None
    return doc


def script(doc: Document, results: Path) -> str:
    """One bash script for the whole document: each step's output to its own files."""
    parts = ["set -euo pipefail"]
    for number, step in enumerate(doc.steps):
        out, err = shlex.quote(str(results / f"{number}.out")), shlex.quote(str(results / f"{number}.err"))
        parts.append(f"{{\n{step.code}\n}} > {out} 2> {err} < /dev/null")
        parts.append(f"echo {number} >> {shlex.quote(str(results / 'done'))}")
    return "\n".join(parts) + "\n"


def matches(expected: object, actual: object) -> bool:
    if expected == WILDCARD:
        return actual is not None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(matches, expected, actual))
    return expected == actual


def check_output(step: Step, printed: str, where: str) -> None:
    if step.output is None:
        return
    if step.output.language == "json":
        expected = json.loads(step.output.text)
        try:
            actual = json.loads(printed)
        except json.JSONDecodeError:
            raise AssertionError(f"{where}: expected one JSON value, printed:\n{printed}") from None
        assert matches(expected, actual), f"{where}: expected\n{json.dumps(expected)}\nprinted\n{printed}"
        return
    lines = printed.splitlines()
    for wanted in filter(None, (line.strip() for line in step.output.text.splitlines())):
        pattern = ".*".join(re.escape(part) for part in wanted.split(WILDCARD))
        assert any(re.search(pattern, line) for line in lines), f"{where}: no line like {wanted!r} in:\n{printed}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def documents() -> list[Path]:
    """docs/README.md first, then the documents in the order its index links them."""
    index = DOCS / "README.md"
    linked = re.findall(r"\]\(([\w-]+\.md)\)", index.read_text(encoding="utf-8"))
    ordered = [index, *(DOCS / name for name in dict.fromkeys(linked))]
    return ordered + sorted(set(DOCS.glob("*.md")) - set(ordered))


def test_the_index_links_every_document():
    assert sorted(documents()) == sorted(DOCS.glob("*.md"))
    assert all(path.exists() for path in documents())


@pytest.mark.parametrize("path", documents(), ids=lambda path: path.name)
def test_every_code_block_is_run_or_checked(path):
    parse(path)  # raises on a code block with no marker, bad TOML, a stray output or setup block


def runnable() -> list[Path]:
    return [path for path in documents() if any(block.marker == "run" for block in blocks(path))]


@pytest.mark.parametrize("path", runnable(), ids=lambda path: path.name)
async def test_the_examples_of_each_document_run_and_print_what_it_says(path, tmp_path, redis_server: RedisServer):
    doc = parse(path)
    receiver_port = free_port()
    raw = base_config(
        retailers={
            "demo": {
                "name": "Demo Grocer", "api_key": RETAILER_KEY,
                "callback_url": f"http://127.0.0.1:{receiver_port}/callbacks", "callback_secret": CALLBACK_SECRET,
            }
        }
    )
    work, results = tmp_path / "work", tmp_path / "results"
    work.mkdir()
    results.mkdir()
    for name, text in doc.files.items():
        (work / name).write_text(text, encoding="utf-8")
    (work / "examples.sh").write_text(script(doc, results), encoding="utf-8")
    async with running_gateway(raw) as gateway:
        environment = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(work), "LANG": "C.UTF-8",
            "GATEWAY": gateway.url, "RETAILER_KEY": RETAILER_KEY, "OPERATOR_KEY": OPERATOR_KEY,
            "CALLBACK_SECRET": CALLBACK_SECRET, "RECEIVER_PORT": str(receiver_port),
            "REDIS_URL": redis_server.url, "PORT_A": str(free_port()), "PORT_B": str(free_port()),
        }
        process = await asyncio.create_subprocess_exec(
            "bash", str(work / "examples.sh"), cwd=work, env=environment, stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: whatever an example left running is ended
        )
        try:
            await asyncio.wait_for(process.wait(), DOC_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    done = (results / "done").read_text().split() if (results / "done").exists() else []
    for number, step in enumerate(doc.steps):
        where = f"{path.name}:{step.line}"
        printed = (results / f"{number}.out").read_text() if (results / f"{number}.out").exists() else ""
        if str(number) not in done:
            errors = (results / f"{number}.err").read_text() if (results / f"{number}.err").exists() else ""
            raise AssertionError(f"{where}: the example failed (exit {process.returncode}):\n{printed}\n{errors}")
        check_output(step, printed, where)
    assert process.returncode == 0
