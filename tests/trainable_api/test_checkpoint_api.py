"""The directory checkpoint API (tunecore.trainables.checkpoint) on real files under tmp_path.

``Checkpoint`` as Ray Tune 2.x's (local and on a pyarrow file system), metadata, and the
tree helpers: atomic persist and unpack, pack/unpack round trips of random unicode trees,
archives that try to write outside their directory, and delete.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import stat
import tarfile
import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunecore.errors import TuneError
from tunecore.trainables import folders
from tunecore.trainables.checkpoint import (
    METADATA_FILE,
    Checkpoint,
    checkpoint_dirname,
    delete_directory,
    pack_directory,
    persist_directory,
    unpack_directory,
)

pafs = pytest.importorskip("pyarrow.fs")

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- helpers ------------------------------------------------------------------------------
def snapshot(root: str) -> dict:
    """Every entry under ``root`` by relative path: ("dir",), ("file", bytes) or ("link", target)."""
    out: dict = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir",)
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def make_tree(root: str, tree: dict) -> None:
    """Create ``tree`` (name -> bytes | ("link", target) | dict) under ``root``."""
    os.makedirs(root, exist_ok=True)
    for name, value in tree.items():
        full = os.path.join(root, name)
        if isinstance(value, dict):
            make_tree(full, value)
        elif isinstance(value, tuple):
            os.symlink(value[1], full)
        else:
            with open(full, "wb") as f:
                f.write(value)


def siblings(path: str) -> list[str]:
    """Names next to ``path`` that start with its name (temporary copies left behind)."""
    folder, base = os.path.split(path.rstrip(os.sep))
    return sorted(n for n in os.listdir(folder) if n.startswith(base) and n != base)


SAMPLE = {"model.bin": b"\x00\x01weights", "notes.txt": b"hello", "sub": {"deep": {"x.npy": b"123"}, "empty": {}},
          "link_to_notes": ("link", "notes.txt"), "link_to_sub": ("link", "sub")}

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=12,
).filter(lambda s: s not in (".", "..") and len(s.encode("utf-8")) <= 255)
leaves = st.one_of(st.binary(max_size=300), names.map(lambda target: ("link", target)))
trees = st.recursive(
    st.dictionaries(names, leaves, max_size=4),
    lambda children: st.dictionaries(names, st.one_of(leaves, children), max_size=4),
    max_leaves=20,
)


def tar_of(*members: tuple) -> bytes:
    """An archive of (TarInfo kind, name, extra) members built by hand, as an attacker would."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, extra in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(extra)
                tar.addfile(info, io.BytesIO(extra))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("sym", "hard"):
                info.linkname = extra
            tar.addfile(info)
    return buffer.getvalue()


# -- Checkpoint ---------------------------------------------------------------------------
def test_from_directory_uses_the_directory_in_place(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    checkpoint = Checkpoint.from_directory(tmp_path / "c")
    assert checkpoint.path == str(tmp_path / "c")
    assert checkpoint.filesystem is None
    with checkpoint.as_directory() as d:
        assert d == checkpoint.path
    assert snapshot(str(tmp_path / "c")) == snapshot(checkpoint.path)  # nothing removed after the block


def test_from_directory_refuses_what_is_not_a_directory(tmp_path):
    with pytest.raises(TuneError, match="does not exist"):
        Checkpoint.from_directory(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(TuneError, match="is not a directory"):
        Checkpoint.from_directory(tmp_path / "file")


def test_relative_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Checkpoint("rel/c").path == str(tmp_path / "rel" / "c")


@pytest.mark.parametrize("bad", [None, 3, ""])
def test_path_must_be_a_path(bad):
    with pytest.raises(TuneError, match="Checkpoint path must be"):
        Checkpoint(bad)


def test_to_directory_copies_everything(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    checkpoint = Checkpoint.from_directory(tmp_path / "c")
    checkpoint.set_metadata({"iteration": 3})
    out = checkpoint.to_directory(tmp_path / "out" / "nested")
    assert out == str(tmp_path / "out" / "nested")
    assert snapshot(out) == snapshot(checkpoint.path)
    assert os.path.islink(os.path.join(out, "link_to_sub"))  # links stay links
    assert Checkpoint.from_directory(out).get_metadata() == {"iteration": 3}


def test_to_directory_default_is_a_fresh_temp_dir(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    checkpoint = Checkpoint.from_directory(tmp_path / "c")
    first, second = checkpoint.to_directory(), checkpoint.to_directory()
    try:
        assert first != second
        assert snapshot(first) == snapshot(second) == snapshot(checkpoint.path)
    finally:
        delete_directory(first)
        delete_directory(second)


def test_to_directory_into_itself(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    checkpoint = Checkpoint.from_directory(tmp_path / "c")
    before = snapshot(checkpoint.path)
    assert checkpoint.to_directory(tmp_path / "c") == str(tmp_path / "c")
    with pytest.raises(TuneError, match="inside it"):
        checkpoint.to_directory(tmp_path / "c" / "sub" / "copy")
    assert snapshot(checkpoint.path) == before


def test_to_directory_of_a_missing_checkpoint(tmp_path):
    with pytest.raises(TuneError, match="does not exist"):
        Checkpoint(tmp_path / "gone").to_directory(tmp_path / "out")


def remote(tmp_path) -> Any:
    """A non-local pyarrow file system (a sub-tree of the local one) rooted at ``tmp_path/bucket``."""
    (tmp_path / "bucket").mkdir(exist_ok=True)
    return pafs.SubTreeFileSystem(str(tmp_path / "bucket"), pafs.LocalFileSystem())


def test_remote_checkpoint_is_downloaded_for_as_directory(tmp_path):
    make_tree(str(tmp_path / "bucket" / "exp" / "c"), {"a.txt": b"A", "sub": {"b.bin": b"B"}})
    checkpoint = Checkpoint("exp/c", filesystem=remote(tmp_path))
    assert checkpoint.path == "exp/c"
    with checkpoint.as_directory() as d:
        assert os.path.realpath(d) != os.path.realpath(tmp_path / "bucket" / "exp" / "c")
        assert snapshot(d) == snapshot(str(tmp_path / "bucket" / "exp" / "c"))
        seen = d
    assert not os.path.exists(seen)
    with pytest.raises(RuntimeError), checkpoint.as_directory() as d:
        seen = d
        raise RuntimeError("the block failed")
    assert not os.path.exists(seen)  # removed even when the block raises
    assert os.path.isfile(tmp_path / "bucket" / "exp" / "c" / "a.txt")  # the source is untouched


def test_remote_to_directory_and_metadata(tmp_path):
    make_tree(str(tmp_path / "bucket" / "c"), {"a.txt": b"A"})
    checkpoint = Checkpoint("c", filesystem=remote(tmp_path))
    assert checkpoint.get_metadata() == {}
    checkpoint.set_metadata({"k": 1})
    checkpoint.update_metadata({"j": [1, 2]})
    assert checkpoint.get_metadata() == {"k": 1, "j": [1, 2]}
    out = checkpoint.to_directory(tmp_path / "local")
    assert snapshot(out) == snapshot(str(tmp_path / "bucket" / "c"))
    assert json.loads((tmp_path / "local" / METADATA_FILE).read_text()) == {"j": [1, 2], "k": 1}
    with pytest.raises(TuneError, match="does not exist"):
        Checkpoint("nope", filesystem=remote(tmp_path)).to_directory(tmp_path / "x")


def test_uri_without_a_filesystem_is_resolved(tmp_path):
    checkpoint = Checkpoint(f"file://{tmp_path}/c")
    assert checkpoint.path == f"{tmp_path}/c"
    assert repr(checkpoint) == f"Checkpoint(filesystem=local, path={tmp_path}/c)"


def test_metadata_round_trip(tmp_path):
    checkpoint = Checkpoint.from_directory(tmp_path)
    assert checkpoint.get_metadata() == {}
    checkpoint.set_metadata({"a": 1, "nested": {"x": [1.5, None, True]}, "np": np.float32(2.5), "n": np.int64(7),
                             "inf": math.inf})
    assert checkpoint.get_metadata() == {"a": 1, "nested": {"x": [1.5, None, True]}, "np": 2.5, "n": 7,
                                         "inf": math.inf}
    checkpoint.update_metadata({"a": 2, "b": "text"})
    got = checkpoint.get_metadata()
    assert got["a"] == 2 and got["b"] == "text" and got["n"] == 7
    json.loads((tmp_path / METADATA_FILE).read_text())  # plain JSON
    checkpoint.set_metadata({"only": 1})
    assert checkpoint.get_metadata() == {"only": 1}
    got["mutated"] = True
    assert "mutated" not in checkpoint.get_metadata()
    assert sorted(os.listdir(tmp_path)) == [METADATA_FILE]  # atomic writes leave no temp file


@pytest.mark.parametrize("bad, match", [
    ([1], "must be a dict"),
    ({1: "x"}, "keys must be str"),
    ({"f": object()}, "JSON data"),
    ({"deep": [{"s": {1, 2}}]}, r"metadata\['deep'\]\[0\]\['s'\]"),
])
def test_metadata_must_be_json_data(tmp_path, bad, match):
    checkpoint = Checkpoint.from_directory(tmp_path)
    checkpoint.set_metadata({"kept": 1})
    with pytest.raises(TuneError, match=match):
        checkpoint.set_metadata(bad)
    assert checkpoint.get_metadata() == {"kept": 1}


def test_broken_metadata_file(tmp_path):
    (tmp_path / METADATA_FILE).write_text("[1, 2]")
    with pytest.raises(TuneError, match="JSON object"):
        Checkpoint(tmp_path).get_metadata()
    (tmp_path / METADATA_FILE).write_text("{not json")
    with pytest.raises(TuneError, match="not valid JSON"):
        Checkpoint(tmp_path).get_metadata()


def test_repr_eq_hash():
    local = Checkpoint("/x/y")
    assert repr(local) == "Checkpoint(filesystem=local, path=/x/y)"
    assert local == Checkpoint("/x/y") == Checkpoint("/x/y", filesystem=pafs.LocalFileSystem())
    assert hash(local) == hash(Checkpoint("/x/y", filesystem=pafs.LocalFileSystem()))
    assert local != Checkpoint("/x/z")
    other = Checkpoint("/x/y", filesystem=pafs.SubTreeFileSystem("/", pafs.LocalFileSystem()))
    assert local != other and repr(other) == "Checkpoint(filesystem=subtree, path=/x/y)"
    assert local != "/x/y"
    assert len({local, Checkpoint("/x/y"), Checkpoint("/x/z")}) == 2


def test_pickles(tmp_path):
    for checkpoint in (Checkpoint("/x/y"), Checkpoint("c", filesystem=remote(tmp_path))):
        copy = pickle.loads(pickle.dumps(checkpoint))
        assert copy == checkpoint and copy.path == checkpoint.path
    make_tree(str(tmp_path / "bucket" / "c"), {"f": b"1"})
    copy = pickle.loads(pickle.dumps(Checkpoint("c", filesystem=remote(tmp_path))))
    with copy.as_directory() as d:
        assert snapshot(d) == {"f": ("file", b"1")}


# -- persist_directory --------------------------------------------------------------------
def test_persist_creates_and_replaces(tmp_path):
    make_tree(str(tmp_path / "src"), SAMPLE)
    dest = str(tmp_path / "store" / "checkpoint_000001")
    assert persist_directory(str(tmp_path / "src"), dest) == dest
    assert snapshot(dest) == snapshot(str(tmp_path / "src"))
    make_tree(str(tmp_path / "src2"), {"new.txt": b"new"})
    assert persist_directory(str(tmp_path / "src2"), dest) == dest
    assert snapshot(dest) == {"new.txt": ("file", b"new")}  # the old content is gone, not merged
    assert siblings(dest) == []
    assert snapshot(str(tmp_path / "src")) != {}  # sources untouched


def test_persist_onto_itself_does_nothing(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    before = snapshot(str(tmp_path / "c"))
    os.symlink(tmp_path / "c", tmp_path / "alias")
    assert persist_directory(str(tmp_path / "c"), str(tmp_path / "alias")) == str(tmp_path / "alias")
    assert persist_directory(str(tmp_path / "c"), str(tmp_path / "c") + os.sep) == str(tmp_path / "c") + os.sep
    assert snapshot(str(tmp_path / "c")) == before
    assert os.path.islink(tmp_path / "alias")


def test_persist_refuses_nested_and_missing(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    before = snapshot(str(tmp_path))
    with pytest.raises(TuneError, match="inside the other"):
        persist_directory(str(tmp_path / "c"), str(tmp_path / "c" / "sub" / "copy"))
    with pytest.raises(TuneError, match="inside the other"):
        persist_directory(str(tmp_path / "c" / "sub"), str(tmp_path / "c"))
    with pytest.raises(TuneError, match="is not one"):
        persist_directory(str(tmp_path / "missing"), str(tmp_path / "d"))
    assert snapshot(str(tmp_path)) == before


def test_persist_failing_copy_leaves_the_old_content(tmp_path):
    make_tree(str(tmp_path / "src"), {"a": b"1", "b": b"2"})
    os.mkfifo(tmp_path / "src" / "pipe")  # copytree cannot copy a named pipe: the copy fails midway
    dest = str(tmp_path / "dest")
    make_tree(dest, {"old.txt": b"old"})
    with pytest.raises(OSError):
        persist_directory(str(tmp_path / "src"), dest)
    assert snapshot(dest) == {"old.txt": ("file", b"old")}
    assert siblings(dest) == []
    with pytest.raises(OSError):
        persist_directory(str(tmp_path / "src"), str(tmp_path / "fresh"))
    assert not os.path.lexists(tmp_path / "fresh") and siblings(str(tmp_path / "fresh")) == []


def test_persist_replaces_a_link_not_its_target(tmp_path):
    make_tree(str(tmp_path / "target"), {"keep.txt": b"keep"})
    os.symlink(tmp_path / "target", tmp_path / "dest")
    make_tree(str(tmp_path / "src"), {"new": b"n"})
    persist_directory(str(tmp_path / "src"), str(tmp_path / "dest"))
    assert not os.path.islink(tmp_path / "dest") and snapshot(str(tmp_path / "dest")) == {"new": ("file", b"n")}
    assert snapshot(str(tmp_path / "target")) == {"keep.txt": ("file", b"keep")}


@HYPOTHESIS
@given(tree=trees, old=trees)
def test_persist_copies_random_trees(tmp_path, tree, old):
    base = tmp_path / uuid.uuid4().hex
    make_tree(str(base / "src"), tree)
    make_tree(str(base / "dest"), old)
    persist_directory(str(base / "src"), str(base / "dest"))
    assert snapshot(str(base / "dest")) == snapshot(str(base / "src"))
    assert sorted(os.listdir(base)) == ["dest", "src"]


# -- pack / unpack ------------------------------------------------------------------------
@HYPOTHESIS
@given(tree=trees, old=trees)
def test_pack_unpack_round_trip(tmp_path, tree, old):
    base = tmp_path / uuid.uuid4().hex
    make_tree(str(base / "src"), tree)
    make_tree(str(base / "dest"), old)
    data = pack_directory(str(base / "src"))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:  # uncompressed
        for name in tar.getnames():
            assert not name.startswith(("/", "./")) and ".." not in name.split("/")
    assert unpack_directory(data, str(base / "dest")) == str(base / "dest")
    assert snapshot(str(base / "dest")) == snapshot(str(base / "src"))
    assert sorted(os.listdir(base)) == ["dest", "src"]


def test_pack_is_deterministic_and_keeps_modes(tmp_path):
    make_tree(str(tmp_path / "src"), SAMPLE)
    os.chmod(tmp_path / "src" / "notes.txt", 0o755)
    data = pack_directory(str(tmp_path / "src"))
    assert data == pack_directory(str(tmp_path / "src"))
    unpack_directory(data, str(tmp_path / "out"))
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "notes.txt").st_mode) & 0o111 == 0o111
    assert snapshot(str(tmp_path / "out")) == snapshot(str(tmp_path / "src"))


def test_pack_makes_inside_absolute_links_relative(tmp_path):
    make_tree(str(tmp_path / "src"), {"sub": {"f": b"x"}})
    os.symlink(tmp_path / "src" / "sub" / "f", tmp_path / "src" / "abs")
    unpack_directory(pack_directory(str(tmp_path / "src")), str(tmp_path / "out"))
    assert os.readlink(tmp_path / "out" / "abs") == os.path.join("sub", "f")
    assert (tmp_path / "out" / "abs").read_bytes() == b"x"


@pytest.mark.parametrize("target", ["/etc", "../outside", "sub/../../outside"])
def test_pack_refuses_links_leading_outside(tmp_path, target):
    make_tree(str(tmp_path / "src"), {"sub": {}})
    os.symlink(target, tmp_path / "src" / "bad")
    with pytest.raises(TuneError, match="outside"):
        pack_directory(str(tmp_path / "src"))


def test_pack_refuses_special_files_and_non_directories(tmp_path):
    (tmp_path / "src").mkdir()
    os.mkfifo(tmp_path / "src" / "pipe")
    with pytest.raises(TuneError, match="FIFO"):
        pack_directory(str(tmp_path / "src"))
    with pytest.raises(TuneError, match="needs a directory"):
        pack_directory(str(tmp_path / "nope"))


def test_links_that_loop_pack_and_unpack(tmp_path):
    make_tree(str(tmp_path / "src"), {"a": ("link", "b"), "b": ("link", "a"), "self": ("link", "self")})
    unpack_directory(pack_directory(str(tmp_path / "src")), str(tmp_path / "out"))
    assert snapshot(str(tmp_path / "out")) == snapshot(str(tmp_path / "src"))


HOSTILE = {
    "absolute name": [("file", "/tmp/evil-abs", b"x")],
    "dotdot name": [("file", "../evil", b"x")],
    "dotdot inside name": [("dir", "a", None), ("file", "a/../../evil", b"x")],
    "absolute symlink": [("sym", "l", "/etc")],
    "symlink up": [("sym", "l", "../outside")],
    "symlink up from a folder": [("dir", "d", None), ("sym", "d/l", "../../outside")],
    "symlink through a symlink": [("sym", "p", "x/.."), ("sym", "q", "p/..")],
    "symlink chain, order reversed": [("sym", "q", "p/.."), ("sym", "p", ".")],
    "member under a symlink": [("sym", "l", "."), ("file", "l/f", b"x")],
    "member under a file": [("file", "f", b"x"), ("file", "f/g", b"y")],
    "hard link up": [("hard", "h", "../outside")],
    "hard link absolute": [("hard", "h", "/etc/passwd")],
    "hard link to nothing": [("hard", "h", "missing")],
    "device": [("chr", "dev", None)],
    "fifo": [("fifo", "pipe", None)],
    "duplicate": [("file", "f", b"1"), ("file", "./f", b"2")],
}


@pytest.mark.parametrize("members", list(HOSTILE.values()), ids=list(HOSTILE))
def test_unpack_refuses_hostile_archives(tmp_path, members):
    dest = tmp_path / "work" / "dest"
    make_tree(str(dest), {"old.txt": b"old"})
    before = snapshot(str(tmp_path))
    with pytest.raises(TuneError, match="Refusing to unpack"):
        unpack_directory(tar_of(*members), str(dest))
    assert snapshot(str(tmp_path)) == before  # dest as it was, nothing written anywhere
    assert not os.path.exists("/tmp/evil-abs")


@pytest.mark.parametrize("members", list(HOSTILE.values()), ids=list(HOSTILE))
def test_own_check_refuses_hostile_archives_without_the_data_filter(members):
    with tarfile.open(fileobj=io.BytesIO(tar_of(*members))) as tar:
        with pytest.raises(TuneError, match="Refusing to unpack"):
            folders._check_members(tar.getmembers())


def test_link_chains_are_checked_in_bounded_time(tmp_path):
    # each link doubles the path to resolve: without a bound on links followed this never ends
    chain = [("sym", f"l{i}", f"l{i + 1}/l{i + 1}") for i in range(60)] + [("dir", "l60", None)]
    unpack_directory(tar_of(*chain), str(tmp_path / "out"))
    assert os.readlink(tmp_path / "out" / "l0") == "l1/l1"


def test_unpack_accepts_inside_links(tmp_path):
    data = tar_of(("dir", "d", None), ("file", "d/f", b"x"), ("sym", "d/up", "../d/f"), ("hard", "h", "d/f"),
                  ("sym", "root", "."), ("dir", ".", None))
    unpack_directory(data, str(tmp_path / "out"))
    assert (tmp_path / "out" / "d" / "up").read_bytes() == b"x"
    assert (tmp_path / "out" / "h").read_bytes() == b"x"
    assert os.readlink(tmp_path / "out" / "root") == "."


def test_unpack_refuses_what_is_not_an_archive(tmp_path):
    with pytest.raises(TuneError, match="not a tar archive"):
        unpack_directory(b"definitely not a tar file" * 40, str(tmp_path / "out"))
    with pytest.raises(TuneError, match="bytes"):
        unpack_directory("text", str(tmp_path / "out"))  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_unpack_accepts_a_compressed_archive(tmp_path):
    make_tree(str(tmp_path / "src"), SAMPLE)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar, tarfile.open(
            fileobj=io.BytesIO(pack_directory(str(tmp_path / "src")))) as plain:
        for member in plain.getmembers():
            tar.addfile(member, plain.extractfile(member) if member.isreg() else None)
    unpack_directory(buffer.getvalue(), str(tmp_path / "out"))
    assert snapshot(str(tmp_path / "out")) == snapshot(str(tmp_path / "src"))


@pytest.mark.parametrize("use_filter", [True, False], ids=["data filter", "own sanitizing"])
def test_both_extraction_paths_drop_special_mode_bits(tmp_path, use_filter):
    if use_filter and not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile data filter")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("tool")
        info.size, info.mode, info.uid, info.gid = 2, 0o6777, 12345, 12345
        tar.addfile(info, io.BytesIO(b"ok"))
        sub = tarfile.TarInfo("sub")
        sub.type = tarfile.DIRTYPE
        sub.mode = 0o777
        tar.addfile(sub)
    (tmp_path / "out").mkdir()
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        members = tar.getmembers()
        folders._check_members(members)
        folders._extract(tar, members, str(tmp_path / "out"), use_filter=use_filter)
    st_tool = os.stat(tmp_path / "out" / "tool")
    assert (tmp_path / "out" / "tool").read_bytes() == b"ok"
    assert stat.S_IMODE(st_tool.st_mode) & (stat.S_ISUID | stat.S_ISGID | 0o022) == 0
    assert st_tool.st_uid == os.getuid()
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "sub").st_mode) & 0o022 == 0


# -- delete_directory, checkpoint_dirname -------------------------------------------------
def test_delete_directory(tmp_path):
    make_tree(str(tmp_path / "c"), SAMPLE)
    assert delete_directory(str(tmp_path / "c")) is True
    assert not os.path.lexists(tmp_path / "c")
    assert delete_directory(str(tmp_path / "c")) is False


def test_delete_directory_removes_a_link_not_its_target(tmp_path):
    make_tree(str(tmp_path / "target"), {"f": b"1"})
    os.symlink(tmp_path / "target", tmp_path / "link")
    assert delete_directory(str(tmp_path / "link")) is True
    assert not os.path.lexists(tmp_path / "link")
    assert snapshot(str(tmp_path / "target")) == {"f": ("file", b"1")}


@pytest.mark.parametrize("bad", ["", "/", os.sep + os.sep])
def test_delete_directory_refuses_roots(bad):
    with pytest.raises(TuneError, match="refuses"):
        delete_directory(bad)


@pytest.mark.parametrize("iteration, name", [(0, "checkpoint_000000"), (42, "checkpoint_000042"),
                                             (1234567, "checkpoint_1234567"), (np.int64(7), "checkpoint_000007")])
def test_checkpoint_dirname(iteration, name):
    assert checkpoint_dirname(iteration) == name


@pytest.mark.parametrize("bad", [-1, 1.0, True, "3", None])
def test_checkpoint_dirname_refuses(bad):
    with pytest.raises(TuneError, match="iteration must be an integer >= 0, but got iteration="):
        checkpoint_dirname(bad)


def test_module_has_no_pyarrow_dependency_until_used():
    import subprocess
    import sys

    code = ("import sys; from tunecore.trainables.checkpoint import Checkpoint; Checkpoint('/x').get_metadata(); "
            "print('pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
