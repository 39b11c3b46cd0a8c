"""The landing folder: finding Argus files, naming them, moving them (plain Python, no Dagster).

Layout::

    $WFM_LANDING_DIR/<service_code>/[<group_code>/]<file>.xlsx|.xls|.csv   dropped by users
    $WFM_HOME/archive/<service_code>/<yyyy>/<mm>/<file>                     imported (kept)
    $WFM_HOME/rejected/<service_code>/[<group_code>/]<file>                 not imported, and
    $WFM_HOME/rejected/.../<file>.errors.csv                                 why

A file is identified by its *partition key* ``<service>/<group or _>/<name>@<sha256[:12]>``:
readable in the Dagster UI, stable for the same content, and different for a corrected file
of the same name.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.reader import file_sha256

ARGUS_SUFFIXES = (".xlsx", ".xls", ".csv")
NO_GROUP = "_"  # group part of a partition key for service-level files (not a legal group code)
SHA_PREFIX_LEN = 12
MAX_NAME_LEN = 80  # characters; 80 x 3 UTF-8 bytes + "@sha" stays a legal file name (IO manager paths)
ERRORS_CSV_COLUMNS = ("file", "row", "column", "code", "message", "value")

_UNSAFE = re.compile(r"[^\w .()+=-]")  # letters (any script), digits, _ and these stay; not '@ / , [ ]'...
_DOTS = re.compile(r"\.{3,}")                   # '...' is Dagster's partition range separator
_KEY = re.compile(r"^(?P<service>[^/]+)/(?P<group>[^/]+)/(?P<name>.+)@(?P<sha>[0-9a-f]{%d})$" % SHA_PREFIX_LEN)


@dataclass(frozen=True)
class LandedFile:
    """A candidate Argus file in the landing folder, with the stat the sensor compares."""

    path: Path
    rel: str                  # path relative to the landing folder, '/'-separated
    service_code: str | None  # None: the file is not inside a service folder
    group_code: str | None
    size: int
    mtime_ns: int

    @property
    def misplaced(self) -> bool:
        return self.service_code is None


@dataclass(frozen=True)
class FileKey:
    """The parts of a partition key."""

    service_code: str
    group_code: str | None
    name: str        # the safe file name
    sha_prefix: str


def is_argus_name(name: str) -> bool:
    """An Argus export by its name; hidden files, Excel lock files (~$x.xlsx) and partial
    downloads (.part, .tmp, .crdownload) are ignored."""
    return (not name.startswith((".", "~$"))) and name.lower().endswith(ARGUS_SUFFIXES)


def scan_landing(landing_dir: Path) -> list[LandedFile]:
    """Argus files under ``landing_dir``, sorted by relative path.

    ``<service>/<file>`` and ``<service>/<group>/<file>`` are well placed; a file directly in
    the landing folder or nested deeper is returned with ``service_code=None`` so the caller
    can reject it with an explanation instead of ignoring it forever.
    """
    found: list[LandedFile] = []
    if not landing_dir.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(landing_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        parts = base.relative_to(landing_dir).parts
        for name in sorted(filenames):
            if not is_argus_name(name):
                continue
            path = base / name
            try:
                st = path.stat()
            except FileNotFoundError:  # moved away while we looked
                continue
            service, group = (parts + (None, None))[:2] if 1 <= len(parts) <= 2 else (None, None)
            found.append(LandedFile(path=path, rel="/".join(parts + (name,)), service_code=service,
                                    group_code=group, size=st.st_size, mtime_ns=st.st_mtime_ns))
    return sorted(found, key=lambda f: f.rel)


def safe_name(name: str) -> str:
    """A file name usable inside a Dagster partition key (no '/', '@', ',', '...', controls)."""
    cleaned = _DOTS.sub("..", _UNSAFE.sub("_", name)).strip() or "_"
    if len(cleaned) > MAX_NAME_LEN:  # keep the suffix: it tells xlsx from csv
        stem, dot, suffix = cleaned.rpartition(".")
        keep = MAX_NAME_LEN - len(suffix) - 1
        cleaned = f"{stem[:keep]}.{suffix}" if dot and keep > 0 else cleaned[:MAX_NAME_LEN]
    return cleaned


def partition_key(service_code: str, group_code: str | None, file_name: str, sha256: str) -> str:
    """``<service>/<group or _>/<safe name>@<sha256[:12]>``."""
    return f"{service_code}/{group_code or NO_GROUP}/{safe_name(file_name)}@{sha256[:SHA_PREFIX_LEN]}"


def parse_partition_key(key: str) -> FileKey:
    match = _KEY.match(key)
    if not match:
        raise ValueError(
            f"not an Argus file partition key: {key!r} (expected <service>/<group or _>/<file>@<sha256 prefix>)")
    group = match["group"]
    return FileKey(match["service"], None if group == NO_GROUP else group, match["name"], match["sha"])


def _matching(candidates: Iterable[Path], key: FileKey) -> tuple[Path, str] | None:
    for path in candidates:
        sha = file_sha256(path)
        if sha.startswith(key.sha_prefix):
            return path, sha
    return None


def _archive_names(key: FileKey) -> tuple[str, str]:
    stem, dot, suffix = key.name.rpartition(".")
    collided = f"{stem}.{key.sha_prefix}.{suffix}" if dot else f"{key.name}.{key.sha_prefix}"
    return key.name, collided


def locate(key: str | FileKey, landing_dir: Path, archive_dir: Path) -> tuple[Path, str] | None:
    """The file a partition key names, with its full sha256: in the landing folder (not
    imported yet) or the archive.

    Candidates are found by name and confirmed by content hash, so a different file that
    later landed under the same name is never mistaken for this one.
    """
    key = parse_partition_key(key) if isinstance(key, str) else key
    folder = landing_dir / key.service_code / (key.group_code or "")
    in_landing = (p for p in sorted(folder.glob("*")) if p.is_file() and safe_name(p.name) == key.name)
    found = _matching(in_landing, key)
    if found:
        return found
    names = _archive_names(key)
    in_archive = (p for p in sorted((archive_dir / key.service_code).glob("*/*/*"), reverse=True)
                  if safe_name(p.name) in names)
    return _matching(in_archive, key)


def is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def archive(path: Path, service_code: str, sha256: str, archive_dir: Path,
            now: datetime | None = None) -> Path:
    """Move an imported file to ``archive/<service>/<yyyy>/<mm>/``; returns the new path.

    A different file of the same name already there is kept: this one gets the sha prefix
    in its name (``name.<sha12>.xlsx``). The same content already there is simply replaced.
    """
    now = now or datetime.now(timezone.utc)
    folder = archive_dir / service_code / f"{now:%Y}" / f"{now:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() and file_sha256(target) != sha256:
        stem, suffix = path.stem, path.suffix
        target = folder / f"{stem}.{sha256[:SHA_PREFIX_LEN]}{suffix}"
    shutil.move(str(path), str(target))
    return target


def _free(target: Path) -> Path:
    if not target.exists() and not Path(f"{target}.errors.csv").exists():
        return target
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return target.with_name(f"{target.stem}.{stamp}{target.suffix}")


def reject(path: Path, errors: Sequence[RowError], rejected_dir: Path, landing_dir: Path | None = None,
           keep_original: bool = False) -> Path:
    """Move (or copy, ``keep_original``) a file to ``rejected/`` with ``<file>.errors.csv`` beside it.

    Files from the landing folder keep their relative path (``rejected/<service>/[<group>/]``);
    an existing rejected file of the same name is never overwritten. Returns the new path.
    """
    if landing_dir is not None and is_within(path, landing_dir):
        rel = path.resolve().relative_to(landing_dir.resolve())
    else:
        rel = Path(path.name)
    target = _free(rejected_dir / rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    if keep_original:
        shutil.copy2(str(path), str(target))
    else:
        shutil.move(str(path), str(target))
    write_errors_csv(Path(f"{target}.errors.csv"), path.name, errors)
    return target


def write_errors_csv(target: Path, file_name: str, errors: Iterable[RowError]) -> Path:
    """``file,row,column,code,message,value``; UTF-8 with BOM so Excel shows umlauts right."""
    with target.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(ERRORS_CSV_COLUMNS)
        for err in errors:
            writer.writerow([file_name, "" if err.row is None else err.row, err.column or "",
                             err.code, err.message, "" if err.value is None else err.value])
    return target


def read_errors_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)
