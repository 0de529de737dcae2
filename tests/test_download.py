"""The real download code, against a local HTTP server serving fixture archives."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from homefeed.datasets.download import DownloadError, download_dataset
from homefeed.datasets.folders import folder_records
from homefeed.errors import InvalidInputError
from tests.movielens_fixtures import write_ml100k, zip_folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder; yields its base URL and the folder."""
    root = tmp_path / "mirror"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def test_download_unpacks_a_movielens_archive(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = mirror
    zip_folder(write_ml100k(tmp_path / "src" / "ml-100k"), root / "ml-100k.zip")
    progress: list[int] = []
    folder = download_dataset(
        "movielens-100k",
        tmp_path / "datasets",
        base_url,
        on_progress=lambda d, _t: progress.append(d),
    )
    assert folder == tmp_path / "datasets" / "ml-100k"
    assert (folder / "u.data").read_text(encoding="latin-1").count("\n") == 4
    assert progress and progress[-1] == (root / "ml-100k.zip").stat().st_size
    assert folder_records(folder).layout == "movielens-100k"
    assert not list((tmp_path / "datasets").glob(".download-*"))  # scratch space cleaned up


def test_missing_archive_and_corrupt_archive_are_errors(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = mirror
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_dataset("movielens-1m", tmp_path / "d", base_url)
    (root / "ml-latest-small.zip").write_bytes(b"this is not a zip")
    with pytest.raises(DownloadError, match="not a zip"):
        download_dataset("movielens-latest-small", tmp_path / "d", base_url)
    assert not (tmp_path / "d" / "ml-latest-small").exists()


def test_unknown_name_and_unreachable_host(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="movielens-100k"):
        download_dataset("netflix-prize", tmp_path)
    with pytest.raises(DownloadError, match="could not download"):
        download_dataset("movielens-100k", tmp_path, "http://127.0.0.1:9/", timeout=2)
