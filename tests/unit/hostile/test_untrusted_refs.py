"""Documents we did not write never make lint or generate fetch a URL or read outside their folder.

A remote `$ref` (served on 127.0.0.1, counting hits) is not fetched; a `$ref` to a file outside the
document's folder is not read, and the message is the same whether that file exists or not. The
flags `--allow-remote-refs` / `--allow-outside-refs` lift the limits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.lint import set_ref_policy

DOCUMENT = """openapi: 3.0.3
info: {{title: refs, version: '1'}}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {{$ref: '{ref}'}}
"""


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b"Thing: {type: object}\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        set_ref_policy()


def _document(folder: Path, ref: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "openapi.yaml"
    path.write_text(DOCUMENT.format(ref=ref))
    return path


def test_remote_refs_are_not_fetched(
    counting_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, hits = counting_server
    document = _document(tmp_path / "doc", f"{url}/thing.yaml#/Thing")
    lint = CliRunner().invoke(app, ["lint", "--foreign", str(document)])
    assert lint.exit_code == 1 and "fetches no URL" in lint.output
    out = tmp_path / "out"
    generate = CliRunner().invoke(app, ["generate", str(document), "--out", str(out)])
    assert generate.exit_code == 1
    assert not out.exists() or not any(out.iterdir())
    assert hits == []


def test_outside_refs_are_not_read_and_say_nothing_of_the_target(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("Thing: {type: object}\n")
    existing = _document(tmp_path / "a" / "doc", "../../secret.yaml#/Thing")
    missing = _document(tmp_path / "b" / "doc", "../../nowhere.yaml#/Thing")
    absolute = _document(tmp_path / "c" / "doc", "/etc/passwd#/x")
    outputs = []
    for document in (existing, missing, absolute):
        result = CliRunner().invoke(app, ["lint", "--foreign", str(document)])
        assert result.exit_code == 1
        assert "reads no file outside the document's folder" in result.output
        outputs.append(result.output.replace(str(document), "DOC"))
    # The same message for a file that exists and one that does not, only the ref differs.
    assert outputs[0].replace("secret", "X") == outputs[1].replace("nowhere", "X")
    assert "cannot be read" not in "".join(outputs)


def test_refs_inside_the_folder_still_work(tmp_path: Path) -> None:
    folder = tmp_path / "doc"
    folder.mkdir()
    (folder / "parts.yaml").write_text("Thing: {type: object}\n")
    document = _document(folder, "parts.yaml#/Thing")
    result = CliRunner().invoke(app, ["lint", "--foreign", str(document)])
    assert result.exit_code == 0, result.output


def test_the_flags_lift_the_limits(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("Thing: {type: object}\n")
    document = _document(tmp_path / "a" / "doc", "../../secret.yaml#/Thing")
    result = CliRunner().invoke(app, ["lint", "--foreign", "--allow-outside-refs", str(document)])
    assert result.exit_code == 0, result.output
