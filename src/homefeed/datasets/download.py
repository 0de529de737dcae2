"""Download public MovieLens archives from GroupLens and unpack them safely."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

from homefeed.errors import HomefeedError, InvalidInputError

GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
ARCHIVES = {
    "movielens-100k": "ml-100k.zip",
    "movielens-1m": "ml-1m.zip",
    "movielens-latest-small": "ml-latest-small.zip",
}
ProgressCallback = Callable[[int, int | None], None]


class DownloadError(HomefeedError):
    """The archive could not be fetched or is not what was expected."""


def download_dataset(
    name: str,
    destination: Path,
    base_url: str = GROUPLENS,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``name`` into ``destination`` and return the unpacked data folder."""
    if name not in ARCHIVES:
        raise InvalidInputError(
            f"unknown data set {name!r}; expected one of {sorted(ARCHIVES)}", field="name"
        )
    archive = ARCHIVES[name]
    target = destination / archive.removesuffix(".zip")
    if target.is_dir() and not force:
        return target
    destination.mkdir(parents=True, exist_ok=True)
    url = base_url.rstrip("/") + "/" + archive
    with tempfile.TemporaryDirectory(dir=destination, prefix=".download-") as scratch:
        zip_path = Path(scratch) / archive
        _fetch(url, zip_path, on_progress, timeout)
        _unpack(zip_path, Path(scratch) / "unpacked", url)
        unpacked = Path(scratch) / "unpacked" / target.name
        if not unpacked.is_dir():
            raise DownloadError(f"{url} did not contain the folder {target.name}/")
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(unpacked), target)
    return target


def _fetch(url: str, path: Path, on_progress: ProgressCallback | None, timeout: float) -> None:
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DownloadError(f"GET {url} answered HTTP {response.status_code}")
            total = int(response.headers["content-length"]) if "content-length" in response.headers else None
            done = 0
            with path.open("wb") as handle:
                for chunk in response.iter_bytes(1 << 16):
                    handle.write(chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
    except httpx.HTTPError as error:
        raise DownloadError(f"could not download {url}: {error}") from None


def _unpack(zip_path: Path, folder: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            broken = archive.testzip()
            if broken is not None:
                raise DownloadError(f"{url}: corrupt member {broken}")
            root = folder.resolve()
            for member in archive.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise DownloadError(f"{url}: unsafe path {member!r} in archive")
            archive.extractall(folder)
    except zipfile.BadZipFile:
        raise DownloadError(f"{url} is not a zip archive") from None
