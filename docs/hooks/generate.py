"""MkDocs hook: the generated reference pages (manifest, rule catalogue, diff rules) and snippets.

Named in mkdocs.yml (`hooks:`). The pages come from `kontrakt.docs_gen` and are handed to MkDocs
in memory at build time, never written into docs/ (so they are never committed, never stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from kontrakt.docs_gen import expand_nav, fill_snippets, generate_pages, profile_ids, snippets

_pieces: dict[str, str] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Give each generated index page in the nav one page per profile."""
    config.nav = expand_nav(config.nav, profile_ids())
    root = Path(config.config_file_path).parent
    _pieces.clear()
    _pieces.update(snippets(root, repository_url=config.repo_url or ""))
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages, read from the code and the contracts as they are now."""
    for path, text in generate_pages(Path(config.docs_dir)).items():
        files.append(File.generated(config, path, content=text))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Fill the `<!-- kontrakt:NAME -->` markers of the hand-written pages."""
    return fill_snippets(markdown, _pieces)
