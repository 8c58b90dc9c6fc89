"""One-time set-up that lets Excel find this Python: ``rfm-addin excel-setup``.

Excel does not know which Python has ``rfm_addin`` installed: xlwings' VBA runs the
``python`` it finds on the PATH (Windows) or through AppleScript with a bare PATH
(macOS), which is rarely the virtual environment the package went into. xlwings reads
the interpreter from configuration layers, in order: the workbook's ``xlwings.conf``
sheet, an ``xlwings.conf`` file beside the workbook, then the user's file
``xlwings.USER_CONFIG_FILE`` (``%USERPROFILE%\\.xlwings\\xlwings.conf`` on Windows,
``~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf`` on a Mac).

:func:`setup_excel`, run from the environment the package is installed in:

1. writes that environment's interpreter into the user's file, one line per key in the
   ``"KEY","value"`` form that ``xlwings.cli.update_user_config`` writes and that VBA's
   ``Input #`` (``GetConfigFromFile`` in ``xlwings.bas``) and
   ``xlwings.utils.read_user_config`` read: ``INTERPRETER_WIN`` or ``INTERPRETER_MAC``,
   or on Windows in an active conda environment ``CONDA PATH`` and ``CONDA ENV`` (as
   ``xlwings config create`` does). Other keys stay as they were; a key of the other
   kind for the same platform (a conda entry when an interpreter is written, or the
   reverse) is removed, since xlwings would prefer it, and the change is reported.
   ``UDF Modules`` is not written there: it stays in the workbook's own
   ``xlwings.conf`` sheet (a user-level entry would apply to every xlwings workbook);
2. writes the workbook template, built from the installed package (so a pip user, who
   has no repository, gets it too), into a folder (default: Documents), never over an
   existing file;
3. on macOS, installs xlwings' AppleScript for ``RunPython``
   (``xlwings runpython install``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import RfmError
from ..writers.safe import atomic_write, prepare_folder

#: The template's file name in the chosen folder.
WORKBOOK_NAME = "RFM workbook.xlsm"

_PLATFORMS = {"windows": "WIN", "mac": "MAC"}


@dataclass
class SetupReport:
    """What :func:`setup_excel` wrote, for the person who ran it."""

    config_file: Path
    written: dict[str, str]
    removed: list[str]
    workbook: Path
    applescript: Path | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"xlwings configuration: {self.config_file}"]
        out += [f'  "{k}","{v}"' for k, v in self.written.items()]
        out += [f"  removed {k!r} (it would override the entry above)" for k in self.removed]
        if self.applescript is not None:
            out.append(f"RunPython for Excel on a Mac: {self.applescript}")
        out.append(f"Workbook: {self.workbook}")
        out += self.notes
        out.append("Next: open the workbook in Excel, enable macros, go to the Transactions sheet and click "
                   "RFM > Analyze sheet.")
        return out


def current_platform() -> str:
    """"windows" or "mac" for this machine; an error elsewhere (Excel runs on neither)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform.startswith("darwin"):
        return "mac"
    raise RfmError("Excel runs on Windows and macOS: run rfm-addin excel-setup there, in the Python environment "
                   "that has rfm_addin installed (or pass --platform windows|mac to write the files anyway).")


def conda_settings(environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """(CONDA PATH, CONDA ENV) of an active conda environment, as ``xlwings config create`` finds them."""
    environ = os.environ if environ is None else environ
    env, exe = environ.get("CONDA_DEFAULT_ENV"), environ.get("CONDA_EXE")
    if not env or not exe:
        return None
    return os.path.sep.join(exe.split(os.path.sep)[:-2]), env


def interpreter_entries(platform: str, executable: str, conda: tuple[str, str] | None) -> dict[str, str]:
    """The keys and values that point xlwings at this environment."""
    if platform == "windows" and conda is not None:
        return {"CONDA PATH": conda[0], "CONDA ENV": conda[1]}
    return {f"INTERPRETER_{_PLATFORMS[platform]}": executable}


def _key_of(line: str) -> str | None:
    stripped = line.strip()
    if not stripped.startswith('"'):
        return None
    end = stripped.find('"', 1)
    return stripped[1:end] if end > 0 else None


def update_config_text(text: str, entries: dict[str, str], drop: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """The user's configuration with ``entries`` set and ``drop`` removed; other lines untouched.

    Keys compare case-insensitively, as VBA's reader does. Returns the new text and the
    keys removed from ``drop`` that were present.
    """
    for key, value in entries.items():
        if '"' in value or "\n" in value or '"' in key:
            raise RfmError(f"Cannot write {key!r} = {value!r} to the xlwings configuration: xlwings' file format "
                           "has no way to write a double quote or a line break.")
    replaced = {k.casefold() for k in entries}
    dropped = {k.casefold() for k in drop}
    kept, removed = [], []
    for line in text.splitlines(keepends=True):
        key = _key_of(line)
        folded = key.casefold() if key is not None else None
        if folded in replaced:
            continue
        if folded in dropped:
            removed.append(key)
            continue
        if not line.strip():
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
    kept += [f'"{k}","{v}"\n' for k, v in entries.items()]
    return "".join(kept), removed


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2)``, ``name (3)``... when taken: never an existing file."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while target.exists():
        target = folder / f"{stem} ({n}){suffix}"
        n += 1
    return target


def default_folder() -> Path:
    """The user's Documents folder (the home folder where there is none)."""
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def setup_excel(*, folder: str | os.PathLike | None = None, platform: str | None = None,
                config_file: str | os.PathLike | None = None, executable: str | None = None,
                environ: dict[str, str] | None = None) -> SetupReport:
    """Point xlwings at this Python and write the workbook template (see the module doc).

    Parameters
    ----------
    folder : path, optional
        Where the workbook goes (default: Documents).
    platform : {"windows", "mac"}, optional
        Default: this machine's.
    config_file : path, optional
        Default ``xlwings.USER_CONFIG_FILE``.
    executable, environ : optional
        The interpreter and environment variables (default: this process's).
    """
    import xlwings

    from ..build.template import build_template

    platform = platform or current_platform()
    if platform not in _PLATFORMS:
        raise RfmError(f"platform must be 'windows' or 'mac', not {platform!r}.")
    config = Path(config_file or xlwings.USER_CONFIG_FILE).expanduser()
    conda = conda_settings(environ)
    entries = interpreter_entries(platform, executable or sys.executable, conda)
    other = ("CONDA PATH", "CONDA ENV") if "CONDA PATH" not in entries else (f"INTERPRETER_{_PLATFORMS[platform]}",)
    target_folder = prepare_folder(folder if folder is not None else default_folder())
    workbook = free_name(target_folder, WORKBOOK_NAME)

    old = config.read_text(encoding="utf-8") if config.is_file() else ""
    text, removed = update_config_text(old, entries, other)
    prepare_folder(config.parent)
    atomic_write(config, lambda temp: Path(temp).write_text(text, encoding="utf-8", newline="\n"))
    build_template(workbook)

    report = SetupReport(config_file=config, written=entries, removed=removed, workbook=workbook)
    if platform == "mac":
        script = Path(xlwings.__file__).parent / f"xlwings-{xlwings.__version__}.applescript"
        if sys.platform.startswith("darwin"):
            from xlwings.cli import runpython_install

            runpython_install(None)
            report.applescript = (Path.home() / "Library" / "Application Scripts" / "com.microsoft.Excel"
                                  / script.name)
        else:
            report.notes.append(f"On the Mac, also run: xlwings runpython install (copies {script.name}).")
        report.notes.append("Worksheet functions (RFM_TABLE...) need Excel for Windows; the ribbon buttons work "
                            "on the Mac.")
    return report
