"""A small MS-CFB (compound file) reader and writer, enough to resize streams of a VBA project.

``olefile`` reads compound files but can only overwrite a stream with one of exactly the
same size; replacing a VBA module's source changes its size, so the container has to be
written anew. :func:`rewrite` keeps every directory entry of the original (names, tree
links, colours, CLSIDs, state bits, times) and only lays the stream data out afresh:

- version 3 file (512-byte sectors), 64-byte mini sectors for streams under 4096 bytes;
- sectors in a fixed order (big streams in directory order, mini stream, mini FAT,
  directory, FAT), so the same input always gives the same bytes;
- no DIFAT sectors: up to 109 FAT sectors (about 6.8 MB), far beyond a VBA project.

Only what :mod:`rfm_addin.build.template` needs; tested by reading the result back with
olefile (every stream byte-identical, the replaced ones as given).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
DIFSECT = 0xFFFFFFFC
NOSTREAM = 0xFFFFFFFF
SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
_HEADER_DIFAT = 109

# Directory entry object types.
UNUSED, STORAGE, STREAM, ROOT = 0, 1, 2, 5


@dataclass
class Entry:
    """One directory entry; ``raw`` is its original 128 bytes, ``data`` a stream's content."""

    raw: bytes
    data: bytes = b""

    @property
    def name(self) -> str:
        length = struct.unpack_from("<H", self.raw, 64)[0]
        return self.raw[:max(length - 2, 0)].decode("utf-16-le")

    @property
    def type(self) -> int:
        return self.raw[66]

    @property
    def child(self) -> int:
        return struct.unpack_from("<I", self.raw, 76)[0]

    @property
    def left(self) -> int:
        return struct.unpack_from("<I", self.raw, 68)[0]

    @property
    def right(self) -> int:
        return struct.unpack_from("<I", self.raw, 72)[0]

    def with_location(self, start: int, size: int) -> bytes:
        return self.raw[:116] + struct.pack("<IQ", start, size)


class CompoundFile:
    """A compound file read into memory: its directory entries with their data."""

    def __init__(self, data: bytes):
        data = bytes(data)
        if data[:8] != SIGNATURE:
            raise ValueError("not a compound file (bad signature)")
        major, _, shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
        self.sector_size = 1 << shift
        mini_size = 1 << mini_shift
        (n_fat, first_dir, _, cutoff, first_minifat, n_minifat,
         first_difat, n_difat) = struct.unpack_from("<IIIIIIII", data, 44)
        self.cutoff = cutoff
        ss = self.sector_size

        def sector(i: int) -> bytes:
            return data[ss * (i + 1):ss * (i + 2)]

        difat = list(struct.unpack_from("<109I", data, 76))
        nxt = first_difat
        for _ in range(n_difat):
            words = struct.unpack(f"<{ss // 4}I", sector(nxt))
            difat += words[:-1]
            nxt = words[-1]
        fat: list[int] = []
        for s in difat[:n_fat]:
            fat += struct.unpack(f"<{ss // 4}I", sector(s))

        def chain(start: int, table: list[int]) -> list[int]:
            out, seen = [], set()
            while start not in (ENDOFCHAIN, FREESECT) and start < len(table):
                if start in seen:
                    raise ValueError("loop in a sector chain")
                seen.add(start)
                out.append(start)
                start = table[start]
            return out

        def read(start: int) -> bytes:
            return b"".join(sector(s) for s in chain(start, fat))

        directory = read(first_dir)
        minifat: list[int] = []
        if n_minifat:
            raw = read(first_minifat)
            minifat = list(struct.unpack(f"<{len(raw) // 4}I", raw))
        self.entries: list[Entry] = []
        for i in range(len(directory) // 128):
            raw = directory[i * 128:(i + 1) * 128]
            self.entries.append(Entry(raw))
        root = self.entries[0]
        start, size = struct.unpack_from("<IQ", root.raw, 116)
        ministream = read(start)[:size] if size else b""
        for entry in self.entries:
            if entry.type != STREAM:
                continue
            start, size = struct.unpack_from("<IQ", entry.raw, 116)
            if major == 3:
                size &= 0xFFFFFFFF
            if size < cutoff:
                blob = b"".join(ministream[s * mini_size:(s + 1) * mini_size] for s in chain(start, minifat))
            else:
                blob = read(start)
            entry.data = blob[:size]

    def paths(self) -> dict[str, int]:
        """Each stream's and storage's path ("VBA/dir") and entry index."""
        out: dict[str, int] = {}

        def walk(index: int, prefix: str) -> None:
            if index == NOSTREAM or index >= len(self.entries):
                return
            entry = self.entries[index]
            walk(entry.left, prefix)
            walk(entry.right, prefix)
            path = prefix + entry.name
            out[path] = index
            if entry.type == STORAGE:
                walk(entry.child, path + "/")

        walk(self.entries[0].child, "")
        return out

    def stream(self, path: str) -> bytes:
        """The content of the stream at ``path`` ("VBA/Module1")."""
        return self.entries[self.paths()[path]].data

    def replace(self, path: str, data: bytes) -> None:
        """Give the stream at ``path`` new content of any size."""
        entry = self.entries[self.paths()[path]]
        if entry.type != STREAM:
            raise ValueError(f"{path!r} is not a stream")
        entry.data = bytes(data)

    def to_bytes(self) -> bytes:
        """The compound file written anew (version 3, 512-byte sectors)."""
        sectors: list[bytes] = []
        fat: list[int] = []

        def add_chain(blob: bytes, marker: int | None = None) -> int:
            """Append ``blob`` as a chain of sectors; return its first sector."""
            if not blob:
                return ENDOFCHAIN
            count = -(-len(blob) // SECTOR)
            first = len(sectors)
            for k in range(count):
                piece = blob[k * SECTOR:(k + 1) * SECTOR]
                sectors.append(piece + b"\x00" * (SECTOR - len(piece)))
                fat.append(marker if marker is not None else (first + k + 1 if k < count - 1 else ENDOFCHAIN))
            return first

        locations: dict[int, tuple[int, int]] = {}
        ministream = bytearray()
        minifat: list[int] = []
        for index, entry in enumerate(self.entries):
            if entry.type != STREAM:
                continue
            size = len(entry.data)
            if size == 0:
                locations[index] = (ENDOFCHAIN, 0)
            elif size >= MINI_CUTOFF:
                locations[index] = (add_chain(entry.data), size)
            else:
                count = -(-size // MINI_SECTOR)
                first = len(minifat)
                for k in range(count):
                    minifat.append(first + k + 1 if k < count - 1 else ENDOFCHAIN)
                ministream += entry.data + b"\x00" * (count * MINI_SECTOR - size)
                locations[index] = (first, size)
        mini_start = add_chain(bytes(ministream))
        locations[0] = (mini_start, len(ministream))
        minifat_blob = struct.pack(f"<{len(minifat)}I", *minifat) if minifat else b""
        if minifat_blob:
            minifat_blob += struct.pack("<I", FREESECT) * ((-len(minifat_blob) % SECTOR) // 4)
        minifat_start = add_chain(minifat_blob)
        n_minifat = len(minifat_blob) // SECTOR
        directory = bytearray()
        for index, entry in enumerate(self.entries):
            if entry.type in (STREAM, ROOT):
                start, size = locations.get(index, (ENDOFCHAIN, 0))
                directory += entry.with_location(start, size)
            else:
                directory += entry.raw
        unused = b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM) + b"\x00" * 48
        while len(directory) % SECTOR:
            directory += unused
        dir_start = add_chain(bytes(directory))
        # FAT sectors describe themselves too: grow until they cover every sector.
        per_sector = SECTOR // 4
        n_fat = 1
        while n_fat * per_sector < len(sectors) + n_fat:
            n_fat += 1
        if n_fat > _HEADER_DIFAT:
            raise ValueError("compound file too large for this writer (needs DIFAT sectors)")
        fat_first = len(sectors)
        fat += [FATSECT] * n_fat
        fat += [FREESECT] * (n_fat * per_sector - len(fat))
        fat_blob = struct.pack(f"<{len(fat)}I", *fat)
        for k in range(n_fat):
            sectors.append(fat_blob[k * SECTOR:(k + 1) * SECTOR])
        difat = [fat_first + k for k in range(n_fat)] + [FREESECT] * (_HEADER_DIFAT - n_fat)
        header = (SIGNATURE + b"\x00" * 16
                  + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\x00" * 6
                  + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, MINI_CUTOFF,
                                minifat_start if n_minifat else ENDOFCHAIN, n_minifat, ENDOFCHAIN, 0)
                  + struct.pack(f"<{_HEADER_DIFAT}I", *difat))
        assert len(header) == SECTOR
        return header + b"".join(sectors)


def rewrite(data: bytes, replacements: dict[str, bytes]) -> bytes:
    """The compound file ``data`` with the given streams ("VBA/Module1": bytes) replaced."""
    cfb = CompoundFile(data)
    for path, blob in replacements.items():
        cfb.replace(path, blob)
    return cfb.to_bytes()
