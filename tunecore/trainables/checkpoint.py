"""Checkpoints as directories: Ray Tune 2.x's ``Checkpoint`` and atomic copy, pack, unpack and delete of their trees.

:class:`Checkpoint` follows ``ray.train.Checkpoint``: a directory on a file system (the local
one, or any ``pyarrow.fs.FileSystem``) with a small JSON metadata file inside. The module
functions are what the trial worker and the runner use to move checkpoint trees around:
:func:`persist_directory` and :func:`unpack_directory` replace a directory atomically (a
reader sees the old or the new tree, never a partial one), :func:`pack_directory` turns a
tree into bytes that cross process and node boundaries, and :func:`delete_directory`
removes exactly one checkpoint folder.

pyarrow is imported only when a :class:`Checkpoint` is given a file system.
"""

from __future__ import annotations

import contextlib
import io
import json
import numbers
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from tunecore.errors import TuneError
from tunecore.util import atomic_write, from_jsonable, is_number, to_jsonable

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow.fs

__all__ = [
    "METADATA_FILE",
    "Checkpoint",
    "checkpoint_dirname",
    "delete_directory",
    "pack_directory",
    "persist_directory",
    "unpack_directory",
]

#: The file inside a checkpoint directory that holds :meth:`Checkpoint.get_metadata`.
METADATA_FILE = ".metadata.json"

_MAX_LINK_DEPTH = 40  # links followed in one lookup before Linux gives up with ELOOP

PathLike = Union[str, "os.PathLike[str]"]


class Checkpoint:
    """A checkpoint: a directory on a file system, with metadata (``ray.train.Checkpoint``).

    Attributes:
        path: the directory. On the local file system it is made absolute, so it stays valid
            when a trial worker changes its working directory. A URI (``s3://bucket/x``) given
            without a file system is resolved by ``pyarrow.fs.FileSystem.from_uri``.
        filesystem: the ``pyarrow.fs.FileSystem`` the directory is on; ``None`` means the local
            file system (so is a ``pyarrow.fs.LocalFileSystem``).

    Instances are plain attributes, so they pickle (pyarrow file systems pickle too), and two
    checkpoints are equal when they have the same path on the same kind of file system.
    """

    def __init__(self, path: PathLike, filesystem: Optional[pyarrow.fs.FileSystem] = None) -> None:
        """Refer to the directory ``path`` on ``filesystem`` (default: local); nothing is read.

        Args:
            path: the checkpoint directory.
            filesystem: a ``pyarrow.fs.FileSystem``, or ``None`` for the local file system.

        Raises:
            TuneError: ``path`` is not a path.
        """
        try:
            text = os.fspath(path)
        except TypeError:
            raise TuneError(f"Checkpoint path must be a str or os.PathLike, but got path={path!r}") from None
        if not isinstance(text, str) or not text:
            raise TuneError(f"Checkpoint path must be a non-empty str, but got path={path!r}")
        if filesystem is None and "://" in text:  # a URI ("s3://bucket/x", "file:///x"): its file system
            import pyarrow.fs

            try:
                filesystem, text = pyarrow.fs.FileSystem.from_uri(text)
            except Exception as e:
                raise TuneError(f"Checkpoint path {text!r} is a URI no pyarrow file system handles: {e}") from None
        self.filesystem = filesystem
        self.path = os.path.abspath(text) if _is_local(filesystem) else text

    @classmethod
    def from_directory(cls, path: PathLike) -> Checkpoint:
        """A checkpoint of an existing local directory (used in place, not copied).

        Args:
            path: the directory.

        Returns:
            The checkpoint.

        Raises:
            TuneError: ``path`` is not an existing directory.
        """
        checkpoint = cls(path)
        if not os.path.isdir(checkpoint.path):
            what = "is not a directory" if os.path.exists(checkpoint.path) else "does not exist"
            raise TuneError(f"Checkpoint.from_directory needs an existing directory, but {checkpoint.path!r} {what}")
        return checkpoint

    def to_directory(self, path: Optional[PathLike] = None) -> str:
        """Copy the checkpoint's contents (metadata included) into a local directory.

        Args:
            path: where to copy to; created if missing, merged into if it exists. Default: a
                fresh temporary directory.

        Returns:
            The local directory, as an absolute path.

        Raises:
            TuneError: the checkpoint directory does not exist, or ``path`` is inside it.
        """
        local = _is_local(self.filesystem)
        remote: Any = self.filesystem
        if local:
            if not os.path.isdir(self.path):
                raise TuneError(f"Checkpoint directory {self.path!r} does not exist")
        else:
            import pyarrow.fs

            if remote.get_file_info(self.path).type != pyarrow.fs.FileType.Directory:
                raise TuneError(f"Checkpoint directory {self.path!r} does not exist on {_fs_name(remote)}")
        fresh = path is None
        dest = tempfile.mkdtemp(prefix="tunecore-checkpoint-") if path is None else os.path.abspath(os.fspath(path))
        try:
            if local:
                if _same_dir(self.path, dest):
                    return dest
                if _is_inside(dest, self.path):
                    raise TuneError(f"Cannot copy checkpoint {self.path!r} into {dest!r}, a folder inside it")
                os.makedirs(dest, exist_ok=True)
                shutil.copytree(self.path, dest, symlinks=True, dirs_exist_ok=True)
            else:
                os.makedirs(dest, exist_ok=True)
                pyarrow.fs.copy_files(self.path, dest, source_filesystem=remote,
                                      destination_filesystem=pyarrow.fs.LocalFileSystem())
        except BaseException:
            if fresh:  # a temp dir of our own: never leave a partial copy behind
                shutil.rmtree(dest, ignore_errors=True)
            raise
        return dest

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """The checkpoint as a local directory, for the ``with`` block only.

        A local checkpoint yields its own path (no copy: do not change it). A checkpoint on
        another file system is downloaded to a temporary directory, which is removed when
        the block ends.

        Yields:
            A local directory with the checkpoint's contents.
        """
        if _is_local(self.filesystem):
            yield self.path
            return
        temp = self.to_directory()
        try:
            yield temp
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def get_metadata(self) -> dict:
        """The metadata stored with the checkpoint; ``{}`` if none was set.

        Returns:
            A fresh dict (changing it changes nothing stored).

        Raises:
            TuneError: the metadata file is not a JSON object.
        """
        where = self._metadata_path()
        try:
            if _is_local(self.filesystem):
                with open(where, encoding="utf-8") as f:
                    text = f.read()
            else:
                remote: Any = self.filesystem
                with remote.open_input_stream(where) as stream:
                    text = stream.read().decode("utf-8")
        except FileNotFoundError:
            return {}
        try:
            value = json.loads(text)
        except ValueError as e:
            raise TuneError(f"Checkpoint metadata {where!r} is not valid JSON: {e}") from None
        if not isinstance(value, dict):
            raise TuneError(f"Checkpoint metadata {where!r} must hold a JSON object, but holds {type(value).__name__}")
        result: dict = from_jsonable(value)
        return result

    def set_metadata(self, metadata: dict) -> None:
        """Replace the stored metadata with ``metadata`` (written atomically).

        Values must be JSON data: dicts with str keys, lists, tuples, str, numbers (numpy ones
        too), bools and None. The file is plain JSON: NaN and infinities are written as the
        strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, and those strings read back as floats.

        Args:
            metadata: the new metadata.

        Raises:
            TuneError: ``metadata`` is not a dict of JSON data.
        """
        if not isinstance(metadata, dict):
            raise TuneError(f"Checkpoint metadata must be a dict, but got {type(metadata).__name__}")
        _check_json_data(metadata, "metadata")
        text = json.dumps(to_jsonable(metadata), allow_nan=False, sort_keys=True)
        where = self._metadata_path()
        if _is_local(self.filesystem):
            atomic_write(where, text)
        else:
            remote: Any = self.filesystem
            with remote.open_output_stream(where) as stream:
                stream.write(text.encode("utf-8"))

    def update_metadata(self, metadata: dict) -> None:
        """Merge ``metadata`` into the stored metadata (top-level keys are replaced).

        Args:
            metadata: the keys to add or replace.

        Raises:
            TuneError: ``metadata`` is not a dict of JSON data.
        """
        if not isinstance(metadata, dict):
            raise TuneError(f"Checkpoint metadata must be a dict, but got {type(metadata).__name__}")
        merged = self.get_metadata()
        merged.update(metadata)
        self.set_metadata(merged)

    def _metadata_path(self) -> str:
        if _is_local(self.filesystem):
            return os.path.join(self.path, METADATA_FILE)
        return posixpath.join(self.path, METADATA_FILE)

    def __repr__(self) -> str:
        return f"Checkpoint(filesystem={_fs_name(self.filesystem)}, path={self.path})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return (self.path, _fs_name(self.filesystem)) == (other.path, _fs_name(other.filesystem))

    def __hash__(self) -> int:
        return hash((self.path, _fs_name(self.filesystem)))


def _fs_name(filesystem: Any) -> str:
    if filesystem is None:
        return "local"
    return str(getattr(filesystem, "type_name", type(filesystem).__name__))


def _is_local(filesystem: Any) -> bool:
    return filesystem is None or _fs_name(filesystem) == "local"


def _check_json_data(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool)) or is_number(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TuneError(f"Checkpoint metadata keys must be str, but {where} has the key {key!r}")
            _check_json_data(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json_data(item, f"{where}[{i}]")
        return
    raise TuneError(f"Checkpoint metadata must be JSON data, but {where} is a {type(value).__name__}: {value!r}")


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


def checkpoint_dirname(iteration: int) -> str:
    """The folder name of the checkpoint taken at ``iteration``: ``checkpoint_000042``.

    Args:
        iteration: the training iteration (an int >= 0).

    Returns:
        ``"checkpoint_%06d" % iteration``.

    Raises:
        TuneError: ``iteration`` is not an int >= 0.
    """
    if not isinstance(iteration, numbers.Integral) or isinstance(iteration, bool) or iteration < 0:
        raise TuneError(f"iteration must be an integer >= 0, but got iteration={iteration!r}")
    return f"checkpoint_{int(iteration):06d}"
