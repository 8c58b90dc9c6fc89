"""Write files so that a failure never leaves a half-written or clobbered file.

Everything is written to a temporary file in the target's folder (same file system, so
the final rename is atomic) and renamed into place only when complete.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..core.errors import RfmError


def check_target(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = (),
                 suffix: str | None = None) -> Path:
    """Refuse a target that is one of the inputs, has the wrong suffix, is read-only, or
    whose folder does not exist."""
    target = Path(path).expanduser()
    for source in inputs:
        if source is not None and Path(source).expanduser().resolve() == target.resolve():
            raise RfmError(f"Refusing to overwrite the input file {str(source)!r}; choose another output name.")
    if suffix is not None and target.suffix.lower() != suffix:
        raise RfmError(f"{str(target)!r}: the file written is a {suffix} workbook; name it like "
                       f"{target.stem}{suffix}.")
    if not target.parent.exists():
        raise RfmError(f"The folder {str(target.parent)!r} does not exist.")
    if target.is_dir():
        raise RfmError(f"{str(target)!r} is a folder; give a file name.")
    if target.exists() and not target.stat().st_mode & 0o222:
        raise RfmError(f"{str(target)!r} is read-only, so it was not replaced; choose another name or make it "
                       "writable.")
    return target


def prepare_folder(path: str | os.PathLike) -> Path:
    """Create an output folder (and parents) or explain why it cannot be one."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RfmError(f"{str(folder)!r} is a file, not a folder; give a folder for the output files.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RfmError(f"Cannot create the folder {str(folder)!r}: {exc.strerror or exc}.") from exc
    return folder


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual ones (umask applied)."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_error(target: Path, exc: OSError) -> RfmError:
    if isinstance(exc, PermissionError):
        return RfmError(f"Cannot write {str(target)!r}: it is open in another program (close it in Excel) "
                        "or the folder is not writable.")
    return RfmError(f"Cannot write {str(target)!r}: {exc.strerror or exc}.")


class StagedFiles:
    """Files written to temporary names in their target folders, then renamed into place together.

    ``with StagedFiles() as files: files.add(...)``: every :meth:`add` writes a complete
    temporary file (a failure there leaves no new file at all); leaving the block
    without an error renames them all onto their targets, in the order added; an error
    removes every temporary file, so no target was touched.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[str, Path]] = []

    def add(self, path: str | os.PathLike, write: Callable[[str], None], inputs: tuple = (),
            suffix: str | None = None) -> str:
        """Write ``write(temp_path)`` to a temporary file for ``path``; returns the final path."""
        target = check_target(path, inputs, suffix)
        if any(t == target for _, t in self.pending):
            raise RfmError(f"{str(target)!r} would be written twice in one run.")
        fd, temp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        self.pending.append((temp, target))
        try:
            write(temp)
            os.chmod(temp, _mode_for(target))
        except OSError as exc:
            raise _write_error(target, exc) from exc
        return str(target)

    def commit(self) -> list[str]:
        """Rename every staged file onto its target; returns the targets."""
        done = []
        for temp, target in self.pending:
            try:
                os.replace(temp, target)
            except OSError as exc:
                raise _write_error(target, exc) from exc
            done.append(str(target))
        self.pending = [(t, p) for t, p in self.pending if os.path.exists(t)]
        return done

    def discard(self) -> None:
        for temp, _ in self.pending:
            if os.path.exists(temp):
                os.remove(temp)
        self.pending = []

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.commit()
        finally:
            self.discard()


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], inputs: tuple = (),
                 suffix: str | None = None) -> str:
    """Call ``write(temp_path)`` then move the temporary file onto ``path``.

    Raises
    ------
    RfmError
        The target is an input, has the wrong suffix, is read-only, its folder is missing,
        or it cannot be replaced (open in Excel); the message says which and the target
        is left as it was.
    """
    with StagedFiles() as files:
        written = files.add(path, write, inputs, suffix)
    return written
