"""Tiny MovieLens folders in each official layout, written on the fly (no real data shipped)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from homefeed.datasets.movielens import ML100K_GENRES

MOVIES = [
    ("1", "Toy Story (1995)", ["Animation", "Children's", "Comedy"]),
    ("2", "GoldenEye (1995)", ["Action", "Adventure", "Thriller"]),
    ("3", "Heat (1995)", ["Action", "Crime", "Thriller"]),
]
RATINGS = [
    ("1", "1", "5", "881250949"),
    ("1", "2", "3", "881250950"),
    ("2", "3", "4", "881250951"),
    ("2", "1", "2", "881250952"),
]
GENRES = list(ML100K_GENRES)


def write_ml100k(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)), encoding="latin-1")
    lines = []
    for movie_id, title, genres in MOVIES:
        flags = "|".join("1" if g in genres else "0" for g in GENRES)
        lines.append(f"{movie_id}|{title}|01-Jan-1995||http://example.invalid/{movie_id}|{flags}\n")
    (folder / "u.item").write_text("".join(lines), encoding="latin-1")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n", encoding="latin-1")
    (folder / "u.data").write_text("".join("\t".join(r) + "\n" for r in RATINGS), encoding="latin-1")
    return folder


def write_atomic(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "".join(f"{m}\t{t[:-7]}\t1995\t{' '.join(g)}\n" for m, t, g in MOVIES),
        encoding="utf-8",
    )
    (folder / "ml-100k.user").write_text(
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "1\t24\tM\ttechnician\t85711\n2\t53\tF\tother\t94043\n",
        encoding="utf-8",
    )
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        + "".join(f"{u}\t{i}\t{r}\t{t}.000\n" for u, i, r, t in RATINGS),
        encoding="utf-8",
    )
    return folder


def write_ml1m(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.dat").write_text(
        "".join(f"{m}::{t}::{'|'.join(g)}\n" for m, t, g in MOVIES), encoding="latin-1"
    )
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n", encoding="latin-1")
    (folder / "ratings.dat").write_text("".join("::".join(r) + "\n" for r in RATINGS), encoding="latin-1")
    return folder


def write_latest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n" + "".join(f'{m},"{t}",{"|".join(g)}\n' for m, t, g in MOVIES),
        encoding="utf-8",
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n" + "".join(",".join(r) + "\n" for r in RATINGS), encoding="utf-8"
    )
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            handle.write(path, path.relative_to(folder.parent).as_posix())
    return archive
