"""Where engine sources come from: files read by DuckDB, database URLs, named connections.

Credentials never live in a workbook. A *named connection* is a URL kept outside it:

- an environment variable ``RFM_CONNECTION_<NAME>`` (name upper-cased, anything but
  letters and digits as ``_``), e.g. ``RFM_CONNECTION_WAREHOUSE=postgresql://analyst:pw@db/sales``;
- or the user's config file (:func:`config_path`): ``%APPDATA%\\rfm_addin\\connections.toml``
  on Windows, ``~/.config/rfm_addin/connections.toml`` elsewhere (``$XDG_CONFIG_HOME``
  honoured; ``RFM_CONNECTIONS_FILE`` overrides the path), with one line per connection::

      warehouse = "postgresql://analyst:secret@db.example.com:5432/sales"
      [shop]
      url = "duckdb:///C:/data/shop.duckdb"

Table names are checked (letters, digits, ``_``, ``$``, ``-``, spaces; at most
``catalog.schema.table``) and then quoted by Ibis; column names are matched against the
table's real columns. Nothing the user types is formatted into SQL. A PostgreSQL
connection gives up after :data:`CONNECT_TIMEOUT` seconds.

Nothing here imports Ibis at module level, so the Settings sheet can use it in the base
install.
"""
from __future__ import annotations

import glob as globlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..core.errors import RfmError

#: Seconds a database server gets to answer a connection.
CONNECT_TIMEOUT = 5
#: Prefix of the environment variables holding named connections.
ENV_PREFIX = "RFM_CONNECTION_"
#: Memory DuckDB may use for file sources (it spills to disk beyond), unless DUCKDB_MEMORY_ENV says.
DUCKDB_MEMORY = "1GB"
#: Environment variable setting DuckDB's memory limit (then kept, never raised).
DUCKDB_MEMORY_ENV = "RFM_DUCKDB_MEMORY"
#: Environment variable limiting DuckDB's threads (default: one per CPU), for shared machines.
DUCKDB_THREADS_ENV = "RFM_DUCKDB_THREADS"

_PART = re.compile(r"^[^\W\d][\w$ -]{0,127}$")
_SCHEMES = {"duckdb": "duckdb", "postgresql": "postgres", "postgres": "postgres",
            "postgresql+psycopg": "postgres", "postgresql+psycopg2": "postgres"}


class MissingExtra(RfmError):
    """An optional dependency is not installed; the message names the pip extra."""


def require_ibis(extra: str = "sql", backend: str = "duckdb") -> Any:
    """Import Ibis and a backend's driver, or explain which extra to install."""
    modules = {"duckdb": ("ibis", "duckdb"), "postgres": ("ibis", "psycopg"), "pyspark": ("ibis", "pyspark")}
    for module in modules[backend]:
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingExtra(
                f"Reading transactions from files and databases needs the optional package {module!r}: install "
                f"it with  pip install \"rfm-addin[{extra}]\"  (or load the data as a DataFrame or sheet)."
            ) from exc
    import ibis

    return ibis


def config_path() -> Path:
    """The user's connections file (it need not exist)."""
    override = os.environ.get("RFM_CONNECTIONS_FILE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "rfm_addin" / "connections.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "rfm_addin" / "connections.toml"


def env_name(name: str) -> str:
    """The environment variable of a named connection ("my shop" -> RFM_CONNECTION_MY_SHOP)."""
    return ENV_PREFIX + re.sub(r"[^0-9A-Z]", "_", name.strip().upper())


def where_to_put(name: str = "NAME") -> str:
    """The sentence telling the user where a connection URL with its password belongs."""
    return (f"Put the URL in the environment variable {env_name(name)} or in {config_path()} "
            f"(a line  {name.strip().lower() or 'name'} = \"postgresql://user:password@host/db\"), and write only "
            "the connection's name in the workbook.")


def _file_connections() -> dict[str, str]:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError as exc:
            raise RfmError(f"Reading {path} needs Python 3.11 or the package tomli.") from exc
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RfmError(f"The connections file {path} could not be read: {exc}.") from exc
    found = {}
    for key, value in data.get("connections", data).items():
        url = value.get("url") if isinstance(value, dict) else value
        if isinstance(url, str):
            found[key.strip().lower()] = url
    return found


def named_url(name: str) -> str | None:
    """The URL of a named connection (environment first, then the config file), or None."""
    url = os.environ.get(env_name(name))
    if url:
        return url
    return _file_connections().get(name.strip().lower())


def is_url(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text.strip()))


def has_password(url: str) -> bool:
    """True when a URL carries a password (user:password@host)."""
    try:
        return urlsplit(url.strip()).password is not None
    except ValueError:
        return ":" in url.split("@", 1)[0].split("://", 1)[-1] and "@" in url


def check_setting(label: str, value: str) -> str:
    """A connection typed into the Settings sheet: a name, or a URL without a password."""
    text = value.strip()
    if is_url(text) and has_password(text):
        raise RfmError(f"{label}: the URL contains a password, and passwords must not be stored in the workbook. "
                       + where_to_put("warehouse"))
    return text


def redact(url: str) -> str:
    """A URL safe to show: the password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(a malformed URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    if netloc == parts.netloc:
        netloc = re.sub(r":[^@]*@", ":***@", parts.netloc, count=1)
    return parts._replace(netloc=netloc).geturl()


def split_identifier(name: str, what: str = "table") -> tuple[str, tuple[str, ...]]:
    """A table name checked and split: ("sales", ("public",)) for "public.sales".

    Raises
    ------
    RfmError
        The name holds characters outside letters, digits, ``_ $ -`` and spaces (quotes,
        semicolons, comment markers...) or has more than three dotted parts.
    """
    if not isinstance(name, str) or not name.strip():
        raise RfmError(f"The {what} name is empty.")
    parts = [p.strip() for p in name.strip().split(".")]
    if len(parts) > 3 or "--" in name or not all(_PART.match(p) for p in parts):
        raise RfmError(f"{name!r} is not a valid {what} name: use letters, digits, _ and at most "
                       f"schema.{what} (the name is quoted, never inserted into SQL). For anything else, "
                       "pass query=\"select ...\" from Python or the command line.")
    return parts[-1], tuple(parts[:-1])


def _physical_memory() -> int | None:
    """Bytes of RAM, where the platform says (POSIX sysconf), else None."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def duckdb_memory_retries() -> list[str]:
    """Larger DuckDB memory limits to try after an out-of-memory error, smallest first.

    DuckDB spills its hash tables to disk, but not every one: grouping on many distinct
    text values can still need more than the default 1 GB (measured: 100M order lines with a
    product-code column need about 1.5 GB, in hand-written SQL as well). Rather than fail,
    the engine path runs the query again with 2, 4, 8... GB, up to half of the machine's
    memory (4 GB where that is unknown). None when the user set ``RFM_DUCKDB_MEMORY``:
    their limit is kept and the error says so.
    """
    if os.environ.get(DUCKDB_MEMORY_ENV, "").strip():
        return []
    ram = _physical_memory()
    cap = ram // 2 if ram else 4 * 1024 ** 3
    steps, gb = [], 2
    while gb * 1024 ** 3 <= cap:
        steps.append(f"{gb}GB")
        gb *= 2
    return steps


def is_out_of_memory(exc: BaseException) -> bool:
    """DuckDB's out-of-memory error (its exception type, or its message through Ibis)."""
    return type(exc).__name__ == "OutOfMemoryException" or "Out of Memory Error" in str(exc)


def duckdb_memory() -> str:
    """The memory limit our DuckDB connections start with (RFM_DUCKDB_MEMORY, else 1 GB)."""
    return os.environ.get(DUCKDB_MEMORY_ENV, "").strip() or DUCKDB_MEMORY


def _duckdb_connect(ibis: Any, database: str = ":memory:", read_only: bool = False) -> Any:
    memory = duckdb_memory()
    spill = Path(tempfile.gettempdir()) / "rfm_addin_duckdb"
    con = ibis.duckdb.connect(database, read_only=read_only)
    con.con.execute("SET memory_limit = ?", [memory])
    threads = os.environ.get(DUCKDB_THREADS_ENV, "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            con.disconnect()
            raise RfmError(f"{DUCKDB_THREADS_ENV} must be a whole number of threads (1 or more), not {threads!r}.")
        con.con.execute("SET threads = ?", [int(threads)])
    con.con.execute("SET temp_directory = ?", [str(spill)])
    con.con.execute("SET preserve_insertion_order = false")
    con.con.execute("SET enable_progress_bar = false")   # the rows are fetched as a stream (raw SQL), which would draw it
    return con


def connect_url(url: str) -> tuple[Any, str]:
    """An Ibis backend for a URL, and a description without the password."""
    scheme = urlsplit(url).scheme.lower()
    backend = _SCHEMES.get(scheme)
    shown = redact(url)
    if backend is None:
        raise RfmError(f"Unsupported connection URL {shown!r}: use duckdb:///path/to/file.duckdb or "
                       "postgresql://user@host:port/database (Spark: pass an Ibis table or a Spark DataFrame).")
    ibis = require_ibis("sql", backend)
    parts = urlsplit(url)
    if backend == "duckdb":
        path = unquote(parts.netloc + parts.path)
        if re.match(r"^/[A-Za-z]:[/\\]", path):
            path = path[1:]  # duckdb:///C:/data/shop.duckdb
        if path in ("", "/", ":memory:", "/:memory:"):
            return _duckdb_connect(ibis), "DuckDB (in memory)"
        if not Path(path).is_file() and path.startswith("/") and Path(path[1:]).is_file():
            path = path[1:]   # duckdb:///shop.duckdb, as docs/engines.md writes it: a file here (SQLAlchemy's reading)
        if not Path(path).is_file():
            raise RfmError(f"There is no DuckDB database file at {path!r} (from {shown}).")
        try:
            return _duckdb_connect(ibis, path, read_only=True), f"DuckDB database {path}"
        except Exception as exc:
            raise RfmError(f"Could not open the DuckDB database {path!r}: {first_line(exc)}") from exc
    options = dict(parse_qsl(parts.query))
    options.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise RfmError(f"The port in {shown!r} is not a number.") from exc
    where = f"PostgreSQL at {host}:{port}/{unquote(parts.path.lstrip('/'))}"
    try:
        con = ibis.postgres.connect(host=host, port=port, user=unquote(parts.username) if parts.username else None,
                                    password=unquote(parts.password) if parts.password is not None else None,
                                    database=unquote(parts.path.lstrip("/")) or None, **options)
    except Exception as exc:
        raise RfmError(f"Could not connect to {where} (waited at most {options['connect_timeout']} s): "
                       f"{first_line(exc)}. Check the host, port, database, user and password, and that the "
                       "server is running.") from exc
    return con, where


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type when there is none), for one-line errors."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_table(con: Any, where: str, table: str | None, query: str | None) -> Any:
    """The Ibis table for ``table=`` (checked, quoted) or ``query=`` on a backend."""
    if (table is None) == (query is None):
        raise RfmError(f"Say what to read from {where}: table=\"name\" or query=\"select ...\" (one of them).")
    if query is not None:
        try:
            return con.sql(query)
        except Exception as exc:
            raise RfmError(f"The query failed in {where}: {first_line(exc)}") from exc
    name, database = split_identifier(table)
    try:
        if database:
            return con.table(name, database=database if len(database) > 1 else database[0])
        return con.table(name)
    except Exception as exc:
        try:
            listed = con.list_tables(database=database[0]) if len(database) == 1 else con.list_tables()
        except Exception:
            listed = []
        known = f" Tables found: {', '.join(sorted(listed)[:20])}." if listed else ""
        raise RfmError(f"The table {table!r} was not found in {where}.{known}") from exc


def expand_path(path: str | os.PathLike) -> tuple[list[str], str] | None:
    """Files a path stands for and their format ("parquet"/"csv"), or None if not an engine path.

    A glob (``transactions/*.parquet``) or a folder (its Parquet files, else its CSV files)
    always goes to the engine; a single file too, when it is Parquet or CSV.
    """
    text = os.fspath(path)
    if os.path.isfile(text):
        files = [text]           # an existing file is that file, even named "sales[1].csv"
    elif any(ch in text for ch in "*?["):
        files = sorted(globlib.glob(text, recursive=True))
        if not files:
            raise RfmError(f"No files match {text!r}.")
    elif os.path.isdir(text):
        files = sorted(globlib.glob(os.path.join(text, "**", "*.parquet"), recursive=True))
        if not files:
            files = sorted(globlib.glob(os.path.join(text, "**", "*.csv"), recursive=True))
        if not files:
            raise RfmError(f"The folder {text!r} holds no .parquet or .csv files.")
    else:
        files = [text]
    kinds = {_kind(f) for f in files}
    if kinds == {"parquet"} or kinds == {"csv"}:
        return files, kinds.pop()
    if len(files) == 1:
        return None
    raise RfmError(f"{text!r} matches files of several kinds or of a kind the engine does not read "
                   f"({', '.join(sorted(k or 'other' for k in kinds))}): use only .parquet or only .csv files.")


def _kind(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq", ".parq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    return None


def parquet_time_zones(path: str) -> dict[str, str]:
    """Time zones of a Parquet file's zoned timestamp columns ("Europe/Berlin"), by column.

    DuckDB reads every zoned timestamp as UTC, which loses the zone the file was written
    in; the file's Arrow schema still has it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    zones = {}
    for field in pq.read_schema(path):
        zone = getattr(field.type, "tz", None) if pa.types.is_timestamp(field.type) else None
        if zone and zone.upper() not in ("UTC", "Z", "+00:00", "ETC/UTC"):
            zones[field.name] = zone
    return zones


def local_times(t: Any, zones: dict[str, str]) -> Any:
    """Zoned timestamp columns as the local date and time of their zone, as the DataFrame
    path reads them (pandas' tz_localize(None)): 00:30 in Berlin stays on its own day."""
    if not zones:
        return t
    import ibis
    import ibis.expr.datatypes as dt

    def timezone(zone, stamp):  # DuckDB's and PostgreSQL's timezone(zone, timestamptz)
        ...

    timezone.__annotations__ = {"zone": dt.string, "stamp": dt.Timestamp(timezone="UTC"), "return": dt.Timestamp()}
    convert = ibis.udf.scalar.builtin(timezone, name="timezone")
    present = {name: zone for name, zone in zones.items() if name in t.columns}
    return t.mutate(**{name: convert(zone, t[name]) for name, zone in present.items()})


def read_files(files: list[str], kind: str, text_columns: list[str] | None = None,
               zoned_as_local: bool = True) -> tuple[Any, Any, str]:
    """An in-memory DuckDB connection and the Ibis table over the files. Zoned Parquet
    timestamps are the local times of their zone (transactions' days), or with
    ``zoned_as_local=False`` instants in UTC (event logs' sessions)."""
    ibis = require_ibis("sql", "duckdb")
    con = _duckdb_connect(ibis)
    where = files[0] if len(files) == 1 else f"{len(files)} {kind} files ({files[0]} ...)"
    try:
        if kind == "parquet":
            t = con.read_parquet(files, **({"union_by_name": True} if len(files) > 1 else {}))
            if zoned_as_local:
                t = local_times(t, parquet_time_zones(files[0]))
        else:
            types = {c: "VARCHAR" for c in (text_columns or [])}
            # Files of a folder may list their columns in different orders: match them by name.
            options = {"union_by_name": True} if len(files) > 1 else {}
            t = con.read_csv(files, **options, **({"types": types} if types else {}))
    except Exception as exc:
        con.disconnect()
        hint = (" DuckDB reads CSV files in UTF-8: save the file as \"CSV UTF-8\" (or as Parquet)."
                if kind == "csv" and "unicode" in str(exc).lower() else "")
        raise RfmError(f"DuckDB could not read {where}: {first_line(exc)}{hint}") from exc
    return con, t, where
