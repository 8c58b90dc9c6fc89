"""MS-OVBA compression, the dir stream and the compound-file rewriter behind the template.

Independent references: the specification's own examples (MS-OVBA 3.2), a line-by-line
transcription of its compression pseudo-code (2.4.1.3), oletools' decompressor and
olefile's reader.
"""
from __future__ import annotations

import glob
import os
import random
import zipfile

import olefile
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import decompress_stream

from rfm_addin.build import cfb, ovba, template

# MS-OVBA 3.2.1 (no compression), 3.2.2 (normal), 3.2.3 (maximum compression).
SPEC_EXAMPLES = [
    (b"abcdefghijklmnopqrstuv.",
     "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"),
    (b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
     "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D 6E 6F 70 06 "
     "71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C"),
    (b"a" * 73, "01 03 B0 02 61 45 00"),
]


def _oletools(data: bytes) -> bytes:
    return bytes(decompress_stream(bytearray(data)))


def naive_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.6-2.4.1.3.19 transcribed literally (slow; small inputs only)."""
    out = bytearray([1])
    dcur, dend_buf = 0, len(data)
    while dcur < dend_buf:
        cchunk, dchunk = len(out), dcur
        out += b"\x00\x00"
        cend = cchunk + 4098
        dend = min(dend_buf, dchunk + 4096)
        ccur = cchunk + 2
        while dcur < dend and ccur < cend:
            flag_index = ccur
            flags = 0
            out.append(0)
            ccur += 1
            for index in range(8):
                if dcur < dend and ccur < cend:
                    # Matching
                    cand, best_len, best_cand = dcur - 1, 0, 0
                    while cand >= dchunk:
                        c, d, length = cand, dcur, 0
                        while d < dend and data[d] == data[c]:
                            length, c, d = length + 1, c + 1, d + 1
                        if length > best_len:
                            best_len, best_cand = length, cand
                        cand -= 1
                    if best_len >= 3:
                        diff = dcur - dchunk
                        bits = 4
                        while (1 << bits) < diff:
                            bits += 1
                        max_len = (0xFFFF >> bits) + 3
                        length, offset = min(best_len, max_len), dcur - best_cand
                    else:
                        length, offset = 0, 0
                    if offset:
                        if ccur + 1 < cend:
                            token = ((offset - 1) << (16 - bits)) | (length - 3)
                            out += token.to_bytes(2, "little")
                            ccur += 2
                            flags |= 1 << index
                            dcur += length
                        else:
                            ccur = cend
                    else:
                        if ccur < cend:
                            out.append(data[dcur])
                            ccur += 1
                            dcur += 1
                        else:
                            ccur = cend
            out[flag_index] = flags
        if dcur < dend:  # raw chunk
            del out[cchunk + 2:]
            raw = data[dchunk:dchunk + 4096]
            out += raw + b"\x00" * (4096 - len(raw))
            dcur = dchunk + len(raw)
            header = 4095 | (0b011 << 12)
        else:
            header = (len(out) - cchunk - 3) | (0b011 << 12) | 0x8000
        out[cchunk:cchunk + 2] = header.to_bytes(2, "little")
    return bytes(out)


@pytest.mark.parametrize("text,compressed", SPEC_EXAMPLES, ids=["no-compression", "normal", "maximum"])
def test_spec_examples_compress_to_the_published_bytes(text, compressed):
    assert ovba.compress(text) == bytes.fromhex(compressed)


@pytest.mark.parametrize("text,compressed", SPEC_EXAMPLES, ids=["no-compression", "normal", "maximum"])
def test_spec_examples_decompress(text, compressed):
    assert ovba.decompress(bytes.fromhex(compressed)) == text
    assert _oletools(bytes.fromhex(compressed)) == text


def test_naive_transcription_reproduces_the_spec_examples():
    # The reference used below must itself agree with the specification.
    for text, compressed in SPEC_EXAMPLES:
        assert naive_compress(text) == bytes.fromhex(compressed)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(b"ab \r\nSub()"), max_size=1200).map(bytes))
def test_compress_equals_the_spec_pseudo_code(data):
    assert ovba.compress(data) == naive_compress(data)
    assert _oletools(ovba.compress(data)) == data


def test_multi_chunk_and_raw_chunks():
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(5000))  # incompressible: raw chunks
    text = b"Sub Foo()\r\n    x = 1\r\nEnd Sub\r\n" * 400  # compressible, several chunks
    for data in (noise, text, noise + text, b""):
        packed = ovba.compress(data)
        assert _oletools(packed) == data
        assert ovba.decompress(packed) == data
    packed = ovba.compress(noise)
    assert packed[1:3] == (4095 | 0x3000).to_bytes(2, "little")  # first chunk stored raw
    # The 904-byte tail fits as literals with flag bytes, so it stays a compressed chunk.
    assert len(packed) == 1 + (2 + 4096) + (2 + 904 + 113)


def _shipped_projects() -> list[str]:
    folder = os.path.dirname(xlwings.__file__)
    files = sorted(glob.glob(os.path.join(folder, "*.xl[sa][mx]")) + glob.glob(os.path.join(folder, "*", "*.xl[sa][mx]")))
    return [f for f in files if "xl/vbaProject.bin" in zipfile.ZipFile(f).namelist()]


SHIPPED = _shipped_projects()


def test_xlwings_ships_vba_projects():
    names = {os.path.basename(f) for f in SHIPPED}
    assert {"quickstart_standalone.xlsm", "quickstart.xlsm", "xlwings.xlam"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_round_trip_of_every_shipped_module(path):
    """Every module of xlwings' files: decompress (oletools), recompress (ours), decompress again."""
    project = zipfile.ZipFile(path).read("xl/vbaProject.bin")
    ole = olefile.OleFileIO(project)
    dir_raw = ovba.decompress(ole.openstream("VBA/dir").read())
    assert dir_raw == _oletools(ole.openstream("VBA/dir").read())
    records = ovba.parse_dir(dir_raw)
    assert ovba.build_dir(records) == dir_raw
    offsets = ovba.module_offsets(records)
    assert offsets
    for name, offset in offsets.items():
        stream = ole.openstream(f"VBA/{name}").read()[offset:]
        source = _oletools(stream)
        assert ovba.decompress(stream) == source, name
        assert _oletools(ovba.compress(source)) == source, name
    assert _oletools(ovba.compress(dir_raw)) == dir_raw


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_compound_file_reader_agrees_with_olefile(path):
    project = zipfile.ZipFile(path).read("xl/vbaProject.bin")
    ole = olefile.OleFileIO(project)
    ours = cfb.CompoundFile(project)
    assert sorted(ours.paths()) == sorted("/".join(p) for p in ole.listdir(streams=True, storages=True))
    for parts in ole.listdir():
        assert ours.stream("/".join(parts)) == ole.openstream(parts).read()


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
@pytest.mark.parametrize("new_size", [0, 10, 4095, 4096, 20000])
def test_rewrite_keeps_every_other_stream(path, new_size):
    """Resize one stream (mini stream and big sectors, both ways): olefile reads the rest unchanged."""
    project = zipfile.ZipFile(path).read("xl/vbaProject.bin")
    ole = olefile.OleFileIO(project)
    target = ["VBA", "dir"]
    blob = bytes(random.Random(new_size).randrange(256) for _ in range(new_size))
    rebuilt = cfb.rewrite(project, {"VBA/dir": blob})
    new = olefile.OleFileIO(rebuilt)
    assert sorted(new.listdir(streams=True, storages=True)) == sorted(ole.listdir(streams=True, storages=True))
    for parts in ole.listdir():
        expected = blob if parts == target else ole.openstream(parts).read()
        assert new.openstream(parts).read() == expected, parts
    for old_entry, new_entry in zip(ole.direntries, new.direntries):
        if old_entry is None:
            continue
        assert (new_entry.name, new_entry.entry_type, new_entry.clsid, new_entry.dwUserFlags) == \
               (old_entry.name, old_entry.entry_type, old_entry.clsid, old_entry.dwUserFlags)
    assert cfb.rewrite(project, {"VBA/dir": blob}) == rebuilt  # deterministic


def test_template_vba_project_changes_only_the_callback_module():
    base = template.base_vba_project()
    built = template.vba_project()
    old, new = olefile.OleFileIO(base), olefile.OleFileIO(built)
    assert sorted(new.listdir()) == sorted(old.listdir())
    for parts in old.listdir():
        if parts in (["VBA", "Module1"], ["VBA", "dir"]):
            continue
        assert new.openstream(parts).read() == old.openstream(parts).read(), parts
    # _VBA_PROJECT: the 7-byte stub, version 0xFFFF (Excel compiles from source).
    stub = new.openstream("VBA/_VBA_PROJECT").read()
    assert len(stub) == 7 and stub[2:4] == b"\xff\xff"
    # dir: identical except Module1's MODULEOFFSET, now 0 (the stream is compressed source only).
    old_records = ovba.parse_dir(_oletools(old.openstream("VBA/dir").read()))
    new_records = ovba.parse_dir(_oletools(new.openstream("VBA/dir").read()))
    assert ovba.module_offsets(new_records) == {**ovba.module_offsets(old_records), "Module1": 0}
    assert ovba.set_module_offset(old_records, "Module1", 0) == new_records
    source = _oletools(new.openstream("VBA/Module1").read()).decode("cp1252")
    assert source == template.RIBBON_MODULE.replace("\n", "\r\n")
