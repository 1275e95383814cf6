"""Checkpoint folders on disk: atomic copy, pack, unpack and delete of directory trees.

:func:`persist_directory` and :func:`unpack_directory` replace a directory atomically (a
reader sees the old or the new tree, never a partial one), :func:`pack_directory` turns a
tree into bytes that cross process and node boundaries (and :func:`unpack_directory` refuses
an archive that would write outside its directory), and :func:`delete_directory` removes
exactly one checkpoint folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tarfile
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Optional

from tunecore.errors import TuneError
from tunecore.util import atomic_write

__all__ = ["delete_directory", "pack_directory", "persist_directory", "unpack_directory"]

_MAX_LINK_DEPTH = 40  # links followed in one lookup before Linux gives up with ELOOP


# -- directory trees ----------------------------------------------------------------------
def _same_dir(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _is_inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (after resolving links)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def _sibling(dest: str, kind: str) -> str:
    return f"{dest}.{kind}-{uuid.uuid4().hex}"


def _remove_tree(path: str) -> None:
    """Remove ``path`` (a folder, a file or a link itself); missing is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _install(temp: str, dest: str) -> None:
    """Put the complete tree ``temp`` at ``dest``: the old ``dest`` is moved aside first, removed last.

    If ``temp`` cannot be moved into place, the old ``dest`` is moved back. ``temp`` is
    consumed either way (moved into place, or left for the caller to remove on error).
    """
    old = None
    if os.path.lexists(dest):
        old = _sibling(dest, "old")
        os.replace(dest, old)
    try:
        os.replace(temp, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        _remove_tree(old)


def _build_and_install(dest: str, build: Callable[[str], object], extra_files: Optional[dict[str, str]]) -> None:
    """``build(temp)`` makes the new tree in a sibling temporary folder, then it replaces ``dest``."""
    target = dest.rstrip(os.sep)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    temp = _sibling(target, "tmp")
    try:
        build(temp)
        _write_extra(temp, extra_files)
        _install(temp, target)
    except BaseException:
        _remove_tree(temp)
        raise


def _write_extra(folder: str, extra_files: Optional[dict[str, str]]) -> None:
    for name, text in (extra_files or {}).items():
        if os.path.isabs(name) or ".." in _parts(name):
            raise TuneError(f"an extra file must be a relative name inside the directory, but got {name!r}")
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _plain_dest(dest: Any, what: str) -> str:
    try:
        text = os.fspath(dest)
    except TypeError:
        raise TuneError(f"{what} must be a str or os.PathLike, but got dest={dest!r}") from None
    if not isinstance(text, str) or not text.strip(os.sep):
        raise TuneError(f"{what} needs a directory path that is not empty or a root, but got dest={dest!r}")
    return text


def persist_directory(source: str, dest: str, extra_files: Optional[dict[str, str]] = None) -> str:
    """Copy the tree ``source`` to ``dest`` atomically, replacing what was there.

    The tree is copied into a sibling temporary folder (``dest + ".tmp-<hex>"``) and renamed
    into place; an existing ``dest`` is first renamed aside and only removed once the new
    tree is in place. Whatever fails, ``dest`` holds the old or the new full tree, never a
    partial one. (Between the two renames ``dest`` is briefly absent; a crash there leaves
    the old tree at its ``.old-<hex>`` sibling.) Symlinks are copied as links.

    Args:
        source: the directory to copy.
        dest: where the copy goes; its parent folder is created if missing.
        extra_files: ``{name: text}`` of files added to the copy before it is put in place.

    Returns:
        ``dest``. When ``source`` and ``dest`` are the same directory, only ``extra_files``
        are written (each atomically).

    Raises:
        TuneError: ``source`` is not a directory, or one of them is inside the other.
        OSError: the copy or a rename failed (the temporary copy is removed first).
    """
    dest = _plain_dest(dest, "persist_directory")
    source = os.fspath(source)
    if os.path.realpath(source) == os.path.realpath(dest):
        for name, text in (extra_files or {}).items():
            atomic_write(os.path.join(dest, name), text)
        return dest
    if not os.path.isdir(source):
        raise TuneError(f"persist_directory needs a directory to copy, but {source!r} is not one")
    if _is_inside(dest, source) or _is_inside(source, dest):
        raise TuneError(f"persist_directory cannot copy {source!r} to {dest!r}: one is inside the other")
    _build_and_install(dest, lambda temp: shutil.copytree(source, temp, symlinks=True), extra_files)
    return dest


def pack_directory(path: str) -> bytes:
    """The tree at ``path`` as an uncompressed tar archive (the bytes :func:`unpack_directory` reads).

    Members have relative names (no ``.``, no absolute paths); directories are included (so
    empty ones survive), symlinks are stored as links and hard links as separate files. An
    absolute link target inside the tree is stored relative to the link.

    Args:
        path: the directory to pack.

    Returns:
        The archive.

    Raises:
        TuneError: ``path`` is not a directory; the tree holds a link that points outside it
            or a special file (a socket, FIFO or device).
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise TuneError(f"pack_directory needs a directory, but {path!r} is not one")
    root = os.path.abspath(path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        members: list[tarfile.TarInfo] = []
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            files.sort()
            for name in dirs + files:  # os.walk lists links to folders in dirs and does not enter them
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                info = _tar_info(full, rel, root)
                if info.isreg():
                    with open(full, "rb") as f:
                        info.size = os.fstat(f.fileno()).st_size
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
                members.append(info)
        _check_members(members)  # what unpack_directory would refuse is refused now
    return buffer.getvalue()


def _tar_info(full: str, rel: str, root: str) -> tarfile.TarInfo:
    st = os.lstat(full)
    info = tarfile.TarInfo(rel)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISREG(st.st_mode):
        info.type = tarfile.REGTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        target = os.readlink(full)
        if os.path.isabs(target):
            absolute = os.path.normpath(target)
            if os.path.commonpath([absolute, root]) != root:
                raise TuneError(f"pack_directory cannot pack {full!r}: a link to {target!r}, outside {root!r}")
            target = os.path.relpath(absolute, os.path.dirname(full))
        info.linkname = target.replace(os.sep, "/")
    else:
        raise TuneError(f"pack_directory cannot pack {full!r}: not a file, folder or link (a socket, FIFO or device)")
    return info


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


class _Loop(Exception):
    """More links than the kernel follows in one lookup (a loop): the path fails to resolve, it leads nowhere."""


def _resolve(base: list[str], target: str, links: dict[str, str], followed: list[int]) -> Optional[list[str]]:
    """Where ``target`` (a link's text, relative to folder ``base``) leads inside the archive's tree.

    Links of the archive met on the way are followed as the kernel does (``..`` after a link
    goes up from where the link leads). None if the path goes above the root at any point;
    raises :class:`_Loop` once more links are followed (``followed[0]`` counts them) than the
    kernel follows in one lookup.
    """
    if target.startswith("/"):
        return None
    current = list(base)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not current:
                return None
            current.pop()
            continue
        current.append(part)
        key = "/".join(current)
        if key in links:
            followed[0] += 1
            if followed[0] > _MAX_LINK_DEPTH:
                raise _Loop
            resolved = _resolve(current[:-1], links[key], links, followed)
            if resolved is None:
                return None
            current = resolved
    return current


def _escapes(base: list[str], target: str, links: dict[str, str]) -> bool:
    try:
        return _resolve(base, target, links, [0]) is None
    except _Loop:
        return False  # the kernel gives up (ELOOP) before the path leads anywhere


def _check_members(members: Sequence[tarfile.TarInfo]) -> dict[str, tarfile.TarInfo]:
    """The members by normalized name, or TuneError for any that could write outside the root."""
    by_name: dict[str, tarfile.TarInfo] = {}
    for member in members:
        name = member.name
        if name.startswith("/") or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
            raise TuneError(f"Refusing to unpack the archive: member {name!r} has an absolute path")
        parts = _parts(name)
        if ".." in parts:
            raise TuneError(f"Refusing to unpack the archive: member {name!r} has a '..' component")
        if "\x00" in name:
            raise TuneError(f"Refusing to unpack the archive: member {name!r} has a NUL character")
        if not parts:
            if member.isdir():
                continue  # the root folder itself
            raise TuneError(f"Refusing to unpack the archive: member {name!r} has no name")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise TuneError(f"Refusing to unpack the archive: member {name!r} is a device, FIFO or other special file")
        key = "/".join(parts)
        if key in by_name:
            raise TuneError(f"Refusing to unpack the archive: member {name!r} appears twice")
        by_name[key] = member
    links = {key: m.linkname for key, m in by_name.items() if m.issym()}
    for key, member in by_name.items():
        parts = key.split("/")
        for i in range(1, len(parts)):
            above = by_name.get("/".join(parts[:i]))
            if above is not None and not above.isdir():
                raise TuneError(f"Refusing to unpack the archive: member {member.name!r} lies under a link or file")
        if member.issym():
            if _escapes(parts[:-1], member.linkname, links):
                raise TuneError(f"Refusing to unpack the archive: link {member.name!r} -> {member.linkname!r} "
                                "points outside the directory")
        elif member.islnk():
            target_parts = _parts(member.linkname)
            target = by_name.get("/".join(target_parts))
            if (member.linkname.startswith("/") or ".." in target_parts or target is None
                    or not target.isreg() or target is member):
                raise TuneError(f"Refusing to unpack the archive: hard link {member.name!r} -> {member.linkname!r} "
                                "does not point to a file of the archive")
    return by_name


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], dest: str, use_filter: bool) -> None:
    """Extract the checked ``members`` into ``dest``, through tarfile's ``data`` filter if asked."""
    if use_filter:
        try:
            tar.extractall(dest, members=members, filter="data")
        except tarfile.FilterError as e:
            raise TuneError(f"Refusing to unpack the archive: {e}") from None
        return
    uid, gid = (os.getuid(), os.getgid()) if hasattr(os, "getuid") else (0, 0)
    for member in members:  # as the data filter: no owners from the archive, no special mode bits
        member.uid, member.gid, member.uname, member.gname = uid, gid, "", ""
        if member.isreg() or member.islnk():
            member.mode = (member.mode & 0o755) | 0o600
        elif member.isdir():
            member.mode = (member.mode & 0o755) | 0o700
    if hasattr(tarfile, "fully_trusted_filter"):  # checked and sanitized above: no DeprecationWarning
        tar.extractall(dest, members=members, filter="fully_trusted")
    else:
        tar.extractall(dest, members=members)


def unpack_directory(data: bytes, dest: str, extra_files: Optional[dict[str, str]] = None) -> str:
    """Extract an archive of :func:`pack_directory` into ``dest`` atomically, replacing what was there.

    The archive is checked before anything is written: members with absolute paths or
    ``..`` components, links (symbolic or hard) that lead outside the directory, members
    under a link, duplicates and special files are refused. It is then extracted into a
    sibling temporary folder (through tarfile's ``data`` filter where Python has it) and
    renamed into place as in :func:`persist_directory`.

    Args:
        data: the archive (uncompressed, or gzip/bz2/xz compressed).
        dest: the directory to create or replace; its parent folder is created if missing.
        extra_files: ``{name: text}`` of files added before the directory is put in place.

    Returns:
        ``dest``.

    Raises:
        TuneError: ``data`` is not a tar archive or holds a member refused above (``dest``
            is left as it was).
        OSError: extracting or a rename failed (the temporary folder is removed first).
    """
    dest = _plain_dest(dest, "unpack_directory")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TuneError(f"unpack_directory needs the bytes of an archive, but got {type(data).__name__}")
    try:
        tar = tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:*")
    except tarfile.TarError as e:
        raise TuneError(f"unpack_directory: the data is not a tar archive ({e})") from None
    with tar:
        try:
            members = tar.getmembers()
        except tarfile.TarError as e:
            raise TuneError(f"unpack_directory: the archive is damaged ({e})") from None
        _check_members(members)

        def extract(temp: str) -> None:
            os.mkdir(temp)
            _extract(tar, members, temp, use_filter=hasattr(tarfile, "data_filter"))

        _build_and_install(dest, extract, extra_files)
    return dest


def delete_directory(path: str) -> bool:
    """Remove one checkpoint folder and everything in it.

    A link is removed itself (what it points to is left alone), as is a plain file.

    Args:
        path: the folder.

    Returns:
        True if something was removed, False if ``path`` did not exist.

    Raises:
        TuneError: ``path`` is empty or a file system root.
        OSError: the folder could not be removed (some of it may be gone).
    """
    path = os.fspath(path)
    absolute = os.path.abspath(path) if isinstance(path, str) and path else ""
    if not absolute or os.path.dirname(absolute) == absolute:
        raise TuneError(f"delete_directory refuses to delete {path!r}: not a checkpoint folder")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
    return True
