"""Checkpoints as directories: Ray Tune 2.x's ``Checkpoint`` (:mod:`tunecore.trainables.folders` moves the trees).

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
import json
import numbers
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional, Union

from tunecore.errors import TuneError
from tunecore.trainables.folders import (
    _is_inside,
    _same_dir,
    delete_directory,
    pack_directory,
    persist_directory,
    unpack_directory,
)
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


def checkpoint_number(path: str) -> Optional[int]:
    """N of a ``checkpoint_N`` folder (its path or its name); None for any other name."""
    match = re.fullmatch(r"checkpoint_(\d+)", os.path.basename(str(path).rstrip(os.sep)))
    return int(match.group(1)) if match else None
