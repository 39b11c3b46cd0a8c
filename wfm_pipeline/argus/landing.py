"""The landing folder: finding Argus, call-record and agent-state files, naming them, moving
them (plain Python, no Dagster).

Layout::

    $WFM_LANDING_DIR/<service_code>/[<group_code>/]<file>.xlsx|.xls|.csv   Argus interval exports
    $WFM_LANDING_DIR/<service_code>/calls/<file>.csv|.xlsx                 call records of the service
    $WFM_LANDING_DIR/<service_code>/agents/<file>.csv|.xlsx                agent state events of the service
    $WFM_HOME/archive/<service_code>/<yyyy>/<mm>/<file>                     imported (kept)
    $WFM_HOME/rejected/<service_code>/[<group_code>/]<file>                 not imported, and
    $WFM_HOME/rejected/.../<file>.errors.csv                                 why

A file is identified by its *partition key* ``<service>/<group or _>/<name>@<sha256[:12]>``
(``<service>/calls/...`` and ``<service>/agents/...`` for the other kinds): readable in the
Dagster UI, stable for the same content, and different for a corrected file of the same name.

**Kinds.** ``calls`` and ``agents`` are *reserved folder names* (``KIND_FOLDERS``): directly
under a service folder they hold that service's call-record and agent-state files, never a
group's Argus files. Everything else about a file (settling, reading, naming, archive/ and
rejected/) is the same for every kind; ``LandedFile.kind`` and ``FileKey.kind`` say which import
takes it. A service that really has a group coded ``calls`` or ``agents`` is ambiguous: the
landing sensor leaves such files where they are and says why (``reserved_folder_conflict``).

**What counts as a landing file.** An entry with an Argus name (``.xlsx``/``.xls``/``.csv``, not
hidden, not an Excel lock file) that is

* a regular file (checked with ``lstat``: the entry itself, not what it points to), or
* a symbolic link whose fully resolved target is a regular file *inside* the landing folder.

Everything else with an Argus name (a FIFO, a socket, a device, a symlink to ``/dev/zero`` or to
any file outside the landing folder, a dangling symlink, a file or folder whose name is not valid UTF-8)
is listed in ``LandingScan.skipped`` with the reason, never opened, and left where it is; symlinked
folders (and folders with such names) are not descended into.
Files are opened only through ``open_within``: the resolved path must lie inside the folder,
the last component is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO swapped in after the scan
cannot block the reader) and the open descriptor must be a regular file (``fstat``); on Linux
the descriptor's own path (``/proc/self/fd``) is checked against the folder once more, which
closes the window in which a folder on the way could be swapped for a symlink. A symlinked
file that is archived or rejected is *copied* (its content, read through ``open_within``) and
the link removed: archive/ and rejected/ only ever hold regular files.

**Names.** ``archive/`` and ``rejected/`` add to a name (``<name>.<sha12>.xlsx`` on an archive
clash, ``<name>.<timestamp>.xlsx`` on a rejected clash, ``<name>.errors.csv``). A name too long
for that (more than ``STORED_NAME_MAX`` UTF-8 bytes; NAME_MAX is 255) is stored shortened:
the stem cut on a character boundary, ``~`` and 8 hex digits of the sha256 of the name's safe
(partition-key) form, and the original extension. ``locate`` recomputes that tag from the
partition key, so a shortened archive file is still found (and confirmed by its content hash);
``<file>.errors.csv`` keeps the full original name in its ``file`` column.

``<file>.errors.csv`` cells are neutralised for spreadsheets (``wfm_pipeline.textsafe``).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from wfm_pipeline import textsafe
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.reader import FileContent, read_file

ARGUS_SUFFIXES = (".xlsx", ".xls", ".csv")
NO_GROUP = "_"  # group part of a partition key for service-level files (not a legal group code)
SHA_PREFIX_LEN = 12
MAX_NAME_LEN = 80  # characters; 80 x 3 UTF-8 bytes + "@sha" stays a legal file name (IO manager paths)
MAX_NAME_BYTES = 240  # ... and never more UTF-8 bytes than this (4-byte characters)
ARGUS = "argus"  # the kind of a file in <service>/ or <service>/<group>/
# Reserved folder names directly under a service folder -> the kind of the files they hold
# (the import_batches.kind of their batches: calls, agent_states).
KIND_FOLDERS: dict[str, str] = {"calls": "calls", "agents": "agent_states"}
FOLDER_OF_KIND: dict[str, str] = {kind: folder for folder, kind in KIND_FOLDERS.items()}
ERRORS_CSV_COLUMNS = ("file", "row", "column", "code", "message", "value")
ERRORS_SUFFIX = ".errors.csv"
_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"                       # rejected/ clash suffix: 21 characters
NAME_MAX = 255                                           # bytes per path component (Linux, macOS)
STORED_NAME_MAX = NAME_MAX - len(ERRORS_SUFFIX) - (1 + 21)  # room for ".<stamp>" and ".errors.csv"
NAME_TAG_LEN = 8

_UNSAFE = re.compile(r"[^\w .()+=-]")  # letters (any script), digits, _ and these stay; not '@ / , [ ]'...
_DOTS = re.compile(r"\.{3,}")                   # '...' is Dagster's partition range separator
_KEY = re.compile(r"^(?P<service>[^/]+)/(?P<group>[^/]+)/(?P<name>.+)@(?P<sha>[0-9a-f]{%d})$" % SHA_PREFIX_LEN)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_PROC_FD = Path("/proc/self/fd")


@dataclass(frozen=True)
class Folders:
    """Where landing files come from and where they go (``settings``: landing_dir, archive_dir,
    rejected_dir)."""

    landing: Path
    archive: Path
    rejected: Path

    @classmethod
    def of(cls, settings) -> Folders:
        return cls(settings.landing_dir, settings.archive_dir, settings.rejected_dir)

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is a file in the landing folder (one that is archived or rejected
        after its import); files elsewhere (``wfm import`` of any path, the archive) stay put."""
        return is_within(Path(path).parent, self.landing)

    def rel(self, path: Path) -> str:
        """``path`` relative to the landing folder, '/'-separated."""
        parent = Path(os.path.realpath(Path(path).parent)).relative_to(os.path.realpath(self.landing))
        return (parent / Path(path).name).as_posix()


@dataclass(frozen=True)
class LandedFile:
    """A candidate Argus file in the landing folder, with the stat the sensor compares."""

    path: Path
    rel: str                  # path relative to the landing folder, '/'-separated
    service_code: str | None  # None: the file is not inside a service folder
    group_code: str | None
    size: int
    mtime_ns: int
    kind: str = ARGUS         # ARGUS, or a value of KIND_FOLDERS (the file lies in that reserved folder)

    @property
    def misplaced(self) -> bool:
        return self.service_code is None


@dataclass(frozen=True)
class SkippedEntry:
    """An entry with an Argus name that is not a landing file (FIFO, device, symlink out, ...)."""

    rel: str
    reason: str


@dataclass
class LandingScan:
    files: list[LandedFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


@dataclass(frozen=True)
class FileKey:
    """The parts of a partition key."""

    service_code: str
    group_code: str | None
    name: str        # the safe file name
    sha_prefix: str
    kind: str = ARGUS

    @property
    def folder(self) -> str:
        """The file's folder below the service folder: the group, the kind's reserved folder, or ''."""
        return FOLDER_OF_KIND.get(self.kind) or self.group_code or ""


class NotALandingFile(Exception):
    """The entry is not a regular file inside its folder: never read, never moved to rejected/."""


def is_argus_name(name: str) -> bool:
    """An Argus export by its name; hidden files, Excel lock files (~$x.xlsx) and partial
    downloads (.part, .tmp, .crdownload) are ignored."""
    return (not name.startswith((".", "~$"))) and name.lower().endswith(ARGUS_SUFFIXES)


# ------------------------------------------------------------------ what is a landing file
def is_within(path: Path | str, folder: Path | str) -> bool:
    """Whether ``path``, every symlink resolved, lies inside ``folder`` (also resolved)."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def is_named_within(path: Path | str, folder: Path | str) -> bool:
    """Whether ``path`` as written (no symlink resolved) lies below ``folder``."""
    return os.path.abspath(path).startswith(os.path.abspath(folder).rstrip(os.sep) + os.sep)


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def entry_stat(path: Path, root: Path) -> os.stat_result:
    """The stat of a landing file (of its target for an allowed symlink); NotALandingFile otherwise.

    Never opens the entry, so a FIFO or a device cannot block the caller.
    """
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        return st
    if not stat.S_ISLNK(st.st_mode):
        raise NotALandingFile(f"{_kind(st.st_mode)}, not a regular file")
    if not is_within(path, root):
        raise NotALandingFile(f"a symbolic link to {os.path.realpath(path)}, outside {root}")
    try:
        target = os.stat(path)
    except OSError as exc:
        raise NotALandingFile(f"a symbolic link that leads nowhere ({exc.strerror})") from exc
    if not stat.S_ISREG(target.st_mode):
        raise NotALandingFile(f"a symbolic link to {_kind(target.st_mode)}")
    return target


def scan(landing_dir: Path, exclude: Iterable[Path] = ()) -> LandingScan:
    """Landing files under ``landing_dir`` (sorted by relative path) and the skipped entries.

    ``<service>/<file>`` and ``<service>/<group>/<file>`` are well placed (``<service>/calls/<file>``
    and ``<service>/agents/<file>`` too, with their ``kind`` and no group); a file directly in
    the landing folder or nested deeper is returned with ``service_code=None`` so the caller
    can reject it with an explanation instead of ignoring it forever. Walks with
    ``os.scandir`` without following symlinks; hidden folders are not entered, nor the folders in
    ``exclude`` (archive/ and rejected/, should the landing folder hold them: their files would be
    taken for misplaced landing files and moved again on every tick).
    """
    result = LandingScan()
    if not landing_dir.is_dir():
        return result
    _scan_folder(landing_dir, landing_dir, (), result, frozenset(os.path.realpath(p) for p in exclude))
    result.files.sort(key=lambda f: f.rel)
    result.skipped.sort(key=lambda s: s.rel)
    return result


def _scan_folder(folder: Path, root: Path, parts: tuple[str, ...], out: LandingScan,
                 exclude: frozenset[str] = frozenset()) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:  # removed or unreadable meanwhile: seen again on the next tick
        return
    for entry in entries:
        rel = "/".join(parts + (entry.name,))
        if entry.name.startswith("."):
            continue
        if not _is_utf8(entry.name):
            # The name would end up in batches, tags and logs, which take only UTF-8 text (psycopg
            # raises on the undecodable bytes and the whole tick failed): left in place, reported.
            if entry.is_dir(follow_symlinks=False) or is_argus_name(entry.name):
                out.skipped.append(SkippedEntry("/".join(parts + (textsafe.storable(entry.name),)),
                                                "a name that is not valid UTF-8 (not read); rename it"))
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if os.path.realpath(entry.path) in exclude:
                    out.skipped.append(SkippedEntry(rel, "the archive or rejected folder (not entered): keep "
                                                         "WFM_LANDING_DIR apart from them"))
                else:
                    _scan_folder(Path(entry.path), root, parts + (entry.name,), out, exclude)
                continue
            if entry.is_symlink() and os.path.isdir(entry.path):
                out.skipped.append(SkippedEntry(rel, "a symbolic link to a folder (not followed)"))
                continue
            if not is_argus_name(entry.name):
                continue
            st = entry_stat(Path(entry.path), root)
        except NotALandingFile as exc:
            out.skipped.append(SkippedEntry(rel, str(exc)))
            continue
        except FileNotFoundError:  # moved away while we looked
            continue
        service, group = (parts + (None, None))[:2] if 1 <= len(parts) <= 2 else (None, None)
        kind = KIND_FOLDERS.get(group, ARGUS) if service is not None else ARGUS
        out.files.append(LandedFile(path=Path(entry.path), rel=rel, service_code=service,
                                    group_code=None if kind != ARGUS else group, size=st.st_size,
                                    mtime_ns=st.st_mtime_ns, kind=kind))


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.scandir decodes undecodable bytes to lone surrogates
        return False
    return True


def scan_landing(landing_dir: Path) -> list[LandedFile]:
    """The landing files of ``scan`` (the skipped entries dropped)."""
    return scan(landing_dir).files


def service_folder(landing_dir: Path, service_code: str, group_code: str | None = None, *,
                   kind: str = ARGUS) -> Path:
    """Create (if missing) and return ``<landing>/<service>/[<group>/]``, where the sensor looks
    (``<landing>/<service>/calls/`` or ``.../agents/`` for ``kind`` calls or agent_states).

    Service and group codes are path-safe by their CHECK constraints (letters, digits, ``_.-``,
    never starting with a dot), so they are used as folder names as they are. A group coded like a
    reserved folder (``calls``, ``agents``) gets no folder of its own: ``reserved_folder_conflict``.
    """
    if kind != ARGUS:
        if group_code is not None:
            raise ValueError(f"{kind} files belong to a service, not to a group ({group_code!r})")
        group_code = FOLDER_OF_KIND[kind]
    for code in (service_code, group_code):
        if code is not None and (not code or code.startswith(".") or "/" in code or "\\" in code):
            raise ValueError(f"{code!r} cannot name a landing folder")
    folder = Path(landing_dir) / service_code
    if group_code is not None:
        folder = folder / group_code
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def service_of_file(path: Path, batch_kind: str) -> str:
    """The service a call-record or agent-state file belongs to by where it lies, as in the
    landing folder: ``<service>/calls/<file>`` (``<service>/agents/<file>``), else
    ``<service>/<file>`` (``wfm import --service-from-folder``). Raises ``ValueError`` for a
    file with no folder name to take (at the file system's root)."""
    folder = path.absolute().parent
    if folder.name == FOLDER_OF_KIND[batch_kind]:
        folder = folder.parent
    if not folder.name:
        raise ValueError(f"{path}: no folder to take the service code from")
    return textsafe.storable(folder.name)   # a name that is not UTF-8: an unknown service, never a crash


def reserved_folder_conflict(service_code: str, folder: str) -> str:
    """Why a file in ``<service>/<folder>/`` is left alone when the service has a group coded like
    the reserved folder: the folder cannot say whether it holds that group's Argus exports or the
    service's call-record / agent-state files, and guessing would import one as the other."""
    what = "call-record" if KIND_FOLDERS[folder] == "calls" else "agent-state"
    return (f"service {service_code} has a group coded {folder!r}, but {service_code}/{folder}/ is reserved for the "
            f"service's {what} files: left in place, nothing imported. Rename the group, or import the file "
            f"with `wfm import --service {service_code} --group {folder}` (Argus) or "
            f"`--kind {'calls' if folder == 'calls' else 'agent-states'}`")


def open_within(path: Path, root: Path) -> BinaryIO:
    """Open a file for reading only if it is a regular file inside ``root`` (see module doc).

    NotALandingFile for anything else; OSError (permissions, gone) as usual.
    """
    if not is_within(path, root):
        raise NotALandingFile(f"{path} leads outside {root}")
    real = os.path.realpath(path)
    try:
        fd = os.open(real, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a symlink after realpath
            raise NotALandingFile(f"{path} became a symbolic link") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotALandingFile(f"{path} is {_kind(st.st_mode)}, not a regular file")
        proc = _PROC_FD / str(fd)
        if _PROC_FD.is_dir() and not is_within(os.readlink(proc), root):
            raise NotALandingFile(f"{path} was opened outside {root} (a folder was swapped)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_within(path: Path, root: Path) -> str:
    """sha256 of a file read through ``open_within``; ArgusFileError(FILE_UNREADABLE) on OSError."""
    return read_within(path, root, keep=False).sha256


# ------------------------------------------------------------------ partition keys
def safe_name(name: str) -> str:
    """A file name usable inside a Dagster partition key (no '/', '@', ',', '...', controls)."""
    cleaned = _DOTS.sub("..", _UNSAFE.sub("_", name)).strip() or "_"
    if len(cleaned) > MAX_NAME_LEN or len(cleaned.encode()) > MAX_NAME_BYTES:  # keep the suffix
        stem, dot, suffix = cleaned.rpartition(".")
        keep = MAX_NAME_LEN - len(suffix) - 1
        cleaned = f"{stem[:keep]}.{suffix}" if dot and keep > 0 else cleaned[:MAX_NAME_LEN]
        while len(cleaned.encode()) > MAX_NAME_BYTES:  # 4-byte characters: cut the stem further
            stem, dot, suffix = cleaned.rpartition(".")
            cleaned = f"{stem[:-1]}.{suffix}" if dot and stem else cleaned[:-1]
    return cleaned


def partition_key(service_code: str, group_code: str | None, file_name: str, sha256: str, *,
                  kind: str = ARGUS) -> str:
    """``<service>/<group or _>/<safe name>@<sha256[:12]>``; for a call-record or agent-state file
    (``kind``) the reserved folder stands where the group would: ``<service>/calls/...``."""
    if kind != ARGUS:
        if group_code is not None:
            raise ValueError(f"{kind} files belong to a service, not to a group ({group_code!r})")
        group_code = FOLDER_OF_KIND[kind]
    return f"{service_code}/{group_code or NO_GROUP}/{safe_name(file_name)}@{sha256[:SHA_PREFIX_LEN]}"


def run_key(key: str, earlier_attempts: int) -> str:
    """The sensor's run key: the partition key, plus ``#<n>`` once ``n`` earlier imports of this
    content for this service/group ended without keeping it (reverted, rejected, failed).

    Dagster never starts a run key twice; the batch history, not the key alone, decides whether
    a re-dropped file is new work. A cursor reset recomputes the same number, so it stays a no-op.
    """
    return key if earlier_attempts == 0 else f"{key}#{earlier_attempts}"


def parse_partition_key(key: str) -> FileKey:
    """The parts of a partition key; ``<service>/calls/...`` and ``<service>/agents/...`` name
    files of those kinds (no group can be addressed through a reserved folder)."""
    match = _KEY.match(key)
    if not match:
        raise ValueError(
            f"not an Argus file partition key (nor a call-record or agent-state one): {key!r} (expected "
            "<service>/<group, _, calls or agents>/<file>@<sha256 prefix>)")
    group = match["group"]
    if group in KIND_FOLDERS:
        return FileKey(match["service"], None, match["name"], match["sha"], KIND_FOLDERS[group])
    return FileKey(match["service"], None if group == NO_GROUP else group, match["name"], match["sha"])


# ------------------------------------------------------------------ names in archive/ and rejected/
def name_tag(key_name: str) -> str:
    """8 hex digits naming a shortened file: from the *safe* name, so ``locate`` can recompute it."""
    return hashlib.sha256(key_name.encode()).hexdigest()[:NAME_TAG_LEN]


def stored_name(name: str) -> str:
    """The name a file gets in archive/ and rejected/ (see module doc): unchanged unless too long."""
    if len(name.encode()) <= STORED_NAME_MAX:
        return name
    stem, suffix = os.path.splitext(name)
    if len(suffix.encode()) > 16:  # not an extension worth keeping
        stem, suffix = name, ""
    tag = f"~{name_tag(safe_name(name))}"
    budget = STORED_NAME_MAX - len(tag) - len(suffix.encode())
    return stem.encode()[:budget].decode("utf-8", "ignore") + tag + suffix


def _archive_matcher(key: FileKey):
    stem, dot, suffix = key.name.rpartition(".")
    names = {key.name, f"{stem}.{key.sha_prefix}.{suffix}" if dot else f"{key.name}.{key.sha_prefix}"}
    ext = f".{suffix}" if dot else ""
    tag = f"~{name_tag(key.name)}"
    tails = (f"{tag}{ext}", f"{tag}.{key.sha_prefix}{ext}")  # shortened names (stored_name)
    return lambda name: safe_name(name) in names or name.endswith(tails)


def _regular_files(folder: Path, root: Path) -> list[Path]:
    """Landing files directly in ``folder`` (regular, or symlinks resolving inside ``root``)."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        try:
            entry_stat(Path(entry.path), root)
        except (NotALandingFile, OSError):
            continue
        found.append(Path(entry.path))
    return sorted(found)


def read_within(path: Path, root: Path, *, keep: bool = True) -> FileContent:
    """``reader.read_file`` through ``open_within``: read once, hashed, kept (see the reader)."""
    return read_file(path, opener=lambda p: open_within(p, root), keep=keep)


def _matching(candidates: Iterable[Path], key: FileKey, root: Path) -> FileContent | None:
    for path in candidates:
        try:
            found = read_within(path, root)
        except (ArgusFileError, NotALandingFile):
            continue
        if found.sha256.startswith(key.sha_prefix):
            return found
    return None


def locate_file(key: str | FileKey, landing_dir: Path, archive_dir: Path) -> FileContent | None:
    """The file a partition key names, read once (``FileContent``: path, full sha256, bytes): in
    the landing folder (not imported yet) or the archive.

    Candidates are found by name and confirmed by content hash, so a different file that
    later landed under the same name is never mistaken for this one. Only landing files (module
    doc) are candidates: a FIFO or a symlink leading out is never opened.
    """
    key = parse_partition_key(key) if isinstance(key, str) else key
    folder = landing_dir / key.service_code / key.folder
    in_landing = (p for p in _regular_files(folder, landing_dir) if safe_name(p.name) == key.name)
    found = _matching(in_landing, key, landing_dir)
    if found:
        return found
    matches = _archive_matcher(key)
    service_archive = archive_dir / key.service_code
    months = sorted((m for y in _subfolders(service_archive) for m in _subfolders(y)), reverse=True)
    in_archive = (p for m in months for p in sorted(_regular_files(m, archive_dir), reverse=True) if matches(p.name))
    return _matching(in_archive, key, archive_dir)


def locate(key: str | FileKey, landing_dir: Path, archive_dir: Path) -> tuple[Path, str] | None:
    """``locate_file`` as (path, full sha256)."""
    found = locate_file(key, landing_dir, archive_dir)
    return None if found is None else (found.path, found.sha256)


def rejected_copies(key: str | FileKey, rejected_dir: Path) -> list[Path]:
    """Files in ``rejected/`` under the key's service/group folder with the key's name (what a
    re-executed run of a rejected file points the user to)."""
    key = parse_partition_key(key) if isinstance(key, str) else key
    folder = rejected_dir / key.service_code / key.folder
    matches = _archive_matcher(key)
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    stem = key.name.rpartition(".")[0] or key.name
    return sorted(folder / n for n in names if not n.endswith(ERRORS_SUFFIX)
                  and (matches(n) or safe_name(n).startswith(stem + ".")))


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


# ------------------------------------------------------------------ moving files out of landing
def require_within(path: Path, landing_dir: Path | None) -> None:
    """NotALandingFile for a path named inside the landing folder that no longer resolves there:
    a folder on the way was swapped for a symlink out (since the file was read): never moved."""
    if landing_dir is not None and is_named_within(path, landing_dir) and not is_within(path, landing_dir):
        raise NotALandingFile(f"{path} now leads outside {landing_dir} (a folder was swapped); not moved")


def _move(path: Path, target: Path, root: Path | None) -> None:
    """Move a landing file; a symlink's content is copied (through open_within) and the link removed."""
    if path.is_symlink():
        with open_within(path, root or path.parent) as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()
    else:
        shutil.move(str(path), str(target))


def _same_content(path: Path, sha256: str, root: Path) -> bool:
    try:
        return sha256_within(path, root) == sha256
    except (ArgusFileError, NotALandingFile):
        return False


def archive(path: Path, service_code: str, sha256: str, archive_dir: Path,
            now: datetime | None = None, landing_dir: Path | None = None) -> Path:
    """Move an imported file to ``archive/<service>/<yyyy>/<mm>/``; returns the new path.

    A different file of the same name already there is kept: this one gets the sha prefix
    in its name (``name.<sha12>.xlsx``). The same content already there is simply replaced.
    Too long names are shortened (``stored_name``).
    """
    require_within(path, landing_dir)
    now = now or datetime.now(timezone.utc)
    folder = archive_dir / service_code / f"{now:%Y}" / f"{now:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored_name(path.name)
    if os.path.lexists(target) and not _same_content(target, sha256, archive_dir):
        target = folder / f"{target.stem}.{sha256[:SHA_PREFIX_LEN]}{target.suffix}"
    if os.path.lexists(target):
        target.unlink()  # the same content (or a stray entry of this exact name): replaced
    _move(path, target, landing_dir)
    return target


def _free(target: Path) -> Path:
    if not os.path.lexists(target) and not os.path.lexists(f"{target}{ERRORS_SUFFIX}"):
        return target
    stamp = datetime.now(timezone.utc).strftime(_STAMP_FORMAT)
    return target.with_name(f"{target.stem}.{stamp}{target.suffix}")


def reject(path: Path, errors: Sequence[RowError], rejected_dir: Path, landing_dir: Path | None = None,
           keep_original: bool = False) -> Path:
    """Move (or copy, ``keep_original``) a file to ``rejected/`` with ``<file>.errors.csv`` beside it.

    Files from the landing folder keep their relative path (``rejected/<service>/[<group>/]``);
    an existing rejected file of the same name is never overwritten; too long names are
    shortened (``stored_name``). Returns the new path.
    """
    require_within(path, landing_dir)
    if landing_dir is not None and is_within(path.parent, landing_dir):
        root = landing_dir
        rel = Path(os.path.realpath(path.parent)).relative_to(os.path.realpath(landing_dir)) / path.name
    else:
        root, rel = path.parent, Path(path.name)
    target = _free(rejected_dir / rel.parent / stored_name(rel.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    if keep_original:
        with open_within(path, root) as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        _move(path, target, root)
    write_errors_csv(Path(f"{target}{ERRORS_SUFFIX}"), path.name, errors)
    return target


def write_errors_csv(target: Path, file_name: str, errors: Iterable[RowError]) -> Path:
    """``file,row,column,code,message,value``; UTF-8 with BOM so Excel shows umlauts right.

    Every cell goes through ``textsafe.csv_cell`` (formula starts defused, controls escaped,
    all cells quoted): planners open these files in Excel.
    """
    with target.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = textsafe.csv_writer(fh)
        writer.writerow(ERRORS_CSV_COLUMNS)
        for err in errors:
            writer.writerow([file_name, "" if err.row is None else err.row, err.column or "",
                             err.code, err.message, "" if err.value is None else err.value])
    return target


def read_errors_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)
