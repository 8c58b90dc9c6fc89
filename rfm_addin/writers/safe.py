"""Write files so that a failure never leaves a half-written or clobbered file.

Everything is written to a temporary file in the target's folder (same file system, so
the final rename is atomic) and renamed into place only when complete.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import RfmError


def check_target(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Refuse a target that is one of the inputs or whose folder does not exist."""
    target = Path(path).expanduser()
    for source in inputs:
        if source is not None and Path(source).expanduser().resolve() == target.resolve():
            raise RfmError(f"Refusing to overwrite the input file {str(source)!r}; choose another output name.")
    if not target.parent.exists():
        raise RfmError(f"The folder {str(target.parent)!r} does not exist.")
    if target.is_dir():
        raise RfmError(f"{str(target)!r} is a folder; give a file name.")
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


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], inputs: tuple = ()) -> str:
    """Call ``write(temp_path)`` then move the temporary file onto ``path``.

    Raises
    ------
    RfmError
        The target is an input, its folder is missing, or it cannot be replaced (open in
        Excel, read-only); the message says which and the target is left as it was.
    """
    target = check_target(path, inputs)
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        write(temp)
        os.chmod(temp, _mode_for(target))
        os.replace(temp, target)
    except PermissionError as exc:
        raise RfmError(f"Cannot write {str(target)!r}: it is open in another program (close it in Excel) "
                       "or the folder is not writable.") from exc
    except OSError as exc:
        raise RfmError(f"Cannot write {str(target)!r}: {exc.strerror or exc}.") from exc
    finally:
        if temp is not None and os.path.exists(temp):
            os.remove(temp)
    return str(target)
