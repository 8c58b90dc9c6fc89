"""MS-OVBA pieces needed to replace a VBA module's source without Excel.

- :func:`compress` / :func:`decompress`: the RLE compression of MS-OVBA section 2.4.1,
  following the specification's pseudo-code (longest match, nearest candidate on ties,
  raw chunk when a compressed chunk would not be smaller), so the output is what the
  specification's own examples (section 3.2) show.
- :func:`parse_dir` / :func:`build_dir`: the records of the decompressed ``VBA/dir``
  stream (section 2.3.4.2), enough to read and change a module's ``MODULEOFFSET``.

The PyPI package ``ms-ovba-compression`` corrupts sources longer than about 660 bytes,
which is why this small implementation exists; its tests check it against the
specification's examples, a naive transcription of the pseudo-code, and oletools'
independent decompressor on every module xlwings ships.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

CHUNK = 4096
_SIGNATURE = 0x01


def _bit_count(difference: int) -> int:
    """Bits of a CopyToken's offset for a position ``difference`` bytes into the chunk."""
    bits = max(difference - 1, 0).bit_length()  # ceil(log2(difference))
    return max(bits, 4)


def _compress_chunk(data: bytes, start: int, end: int) -> bytes:
    """One CompressedChunk (header included) for ``data[start:end]`` (at most 4096 bytes)."""
    out = bytearray(b"\x00\x00")
    # Positions within the chunk by their first three bytes, for candidate lookup; a match of
    # length >= 3 must start with the same three bytes as the current position.
    table: dict[bytes, list[int]] = {}
    indexed = start  # positions < indexed are in table
    current = start
    limit = 4098 - 2  # bytes of token sequences allowed after the header
    while current < end and len(out) - 2 < limit:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if current >= end or len(out) - 2 >= limit:
                break
            while indexed < current:
                if indexed + 3 <= end:
                    table.setdefault(data[indexed:indexed + 3], []).append(indexed)
                indexed += 1
            best_len, best_pos = 0, -1
            room = end - current
            if room >= 3:
                for cand in reversed(table.get(data[current:current + 3], ())):
                    # Strictly longer than the best so far (nearest candidate wins ties).
                    want = best_len + 1
                    if want > room:
                        break
                    if data[cand:cand + want] != data[current:current + want]:
                        continue
                    # Exact common length, unbounded by the token's maximum (as the spec).
                    lo, hi = want, room
                    while lo < hi:
                        mid = (lo + hi + 1) // 2
                        if data[cand:cand + mid] == data[current:current + mid]:
                            lo = mid
                        else:
                            hi = mid - 1
                    best_len, best_pos = lo, cand
                    if best_len == room:
                        break
            if best_len >= 3:
                if len(out) + 2 > 2 + limit:
                    break  # no room for a CopyToken: the chunk is stored raw (below)
                bits = _bit_count(current - start)
                length = min(best_len, (0xFFFF >> bits) + 3)
                offset = current - best_pos
                token = ((offset - 1) << (16 - bits)) | (length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                current += length
            else:
                out.append(data[current])
                current += 1
        out[flag_index] = flags
    if current < end:
        # Compression did not fit in 4096 bytes: a raw chunk of exactly 4096 bytes.
        raw = data[start:min(start + CHUNK, end)]
        raw += b"\x00" * (CHUNK - len(raw))
        header = (CHUNK - 1) | (0b011 << 12)
        return struct.pack("<H", header) + raw
    header = (len(out) - 3) | (0b011 << 12) | 0x8000
    out[0:2] = struct.pack("<H", header)
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress ``data`` into a CompressedContainer (MS-OVBA 2.4.1.3.6)."""
    data = bytes(data)
    out = bytearray([_SIGNATURE])
    for start in range(0, len(data), CHUNK):
        out += _compress_chunk(data, start, min(start + CHUNK, len(data)))
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Decompress a CompressedContainer (MS-OVBA 2.4.1.3.1)."""
    container = bytes(container)
    if not container or container[0] != _SIGNATURE:
        raise ValueError("not an MS-OVBA compressed container (signature byte is not 0x01)")
    out = bytearray()
    pos = 1
    while pos < len(container):
        if pos + 2 > len(container):
            raise ValueError("truncated chunk header")
        header = struct.unpack_from("<H", container, pos)[0]
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError(f"bad chunk signature at byte {pos}")
        compressed = bool(header & 0x8000)
        chunk_end = min(pos + size, len(container))
        pos += 2
        chunk_start = len(out)
        if not compressed:
            out += container[pos:pos + CHUNK]
            pos += CHUNK
            continue
        while pos < chunk_end:
            flags = container[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags & (1 << bit):
                    out.append(container[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", container, pos)[0]
                pos += 2
                bits = _bit_count(len(out) - chunk_start)
                length = (token & (0xFFFF >> bits)) + 3
                offset = (token >> (16 - bits)) + 1
                source = len(out) - offset
                if source < chunk_start:
                    raise ValueError("copy token points before the chunk")
                for i in range(length):  # byte by byte: the copy may overlap its output
                    out.append(out[source + i])
    return bytes(out)


# --------------------------------------------------------------------------------------
# The dir stream (MS-OVBA 2.3.4.2)
# --------------------------------------------------------------------------------------
#: Record ids of the dir stream used here.
MODULENAME = 0x0019
MODULESTREAMNAME = 0x001A
MODULEOFFSET = 0x0031
PROJECTVERSION = 0x0009
PROJECTCODEPAGE = 0x0003


@dataclass
class Record:
    """One dir record: id and data (PROJECTVERSION keeps its 6 data bytes, size field 4)."""

    id: int
    data: bytes


def parse_dir(data: bytes) -> list[Record]:
    """The records of a decompressed dir stream, in order."""
    records, pos = [], 0
    while pos < len(data):
        rid, size = struct.unpack_from("<HI", data, pos)
        if rid == PROJECTVERSION:  # Reserved field says 4, then VersionMajor (4) + VersionMinor (2)
            size = 6
        if pos + 6 + size > len(data):
            raise ValueError(f"dir record 0x{rid:04X} at byte {pos} runs past the stream")
        records.append(Record(rid, data[pos + 6:pos + 6 + size]))
        pos += 6 + size
    return records


def build_dir(records: list[Record]) -> bytes:
    """The decompressed dir stream of ``records`` (inverse of :func:`parse_dir`)."""
    out = bytearray()
    for rec in records:
        size = 4 if rec.id == PROJECTVERSION else len(rec.data)
        out += struct.pack("<HI", rec.id, size) + rec.data
    return bytes(out)


def code_page(records: list[Record]) -> str:
    """Python codec name of the project's code page (PROJECTCODEPAGE)."""
    for rec in records:
        if rec.id == PROJECTCODEPAGE:
            return f"cp{struct.unpack('<H', rec.data)[0]}"
    return "cp1252"


def module_offsets(records: list[Record]) -> dict[str, int]:
    """Each module's stream name and MODULEOFFSET (where its compressed source starts)."""
    result, stream = {}, None
    codec = code_page(records)
    for rec in records:
        if rec.id == MODULESTREAMNAME:
            stream = rec.data.decode(codec)
        elif rec.id == MODULEOFFSET and stream is not None:
            result[stream] = struct.unpack("<I", rec.data)[0]
    return result


def set_module_offset(records: list[Record], stream_name: str, offset: int) -> list[Record]:
    """A copy of ``records`` with the MODULEOFFSET of module stream ``stream_name`` changed."""
    codec = code_page(records)
    out, stream, found = [], None, False
    for rec in records:
        if rec.id == MODULESTREAMNAME:
            stream = rec.data.decode(codec)
        if rec.id == MODULEOFFSET and stream == stream_name:
            rec = Record(rec.id, struct.pack("<I", offset))
            found = True
        out.append(rec)
    if not found:
        raise KeyError(f"no module stream {stream_name!r} in the dir stream")
    return out
