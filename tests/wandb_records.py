"""The records of a WandB offline run file, joined, for tests that look for logged values.

wandb 0.31 keeps an offline run as one transaction log in LevelDB's log format: after a 7-byte
file header, 32 KiB blocks of chunks, each with a 7-byte header (checksum, length, type). A record
that crosses a block boundary is split into chunks, so the file's raw bytes can cut a logged
string in two; the joined chunk payloads cannot.
"""

from __future__ import annotations

from pathlib import Path

BLOCK = 32768
HEADER = 7  # the file's header and each chunk's


def wandb_records(path: Path) -> bytes:
    """The payloads of every chunk of the offline run file `path`, in order."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is no WandB run file"
    payload, position = bytearray(), HEADER
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:  # a block's zero-filled tail
            position += left
            continue
        length = int.from_bytes(data[position + 4:position + 6], "little")
        payload += data[position + HEADER:position + HEADER + length]
        position += HEADER + length
    assert position == len(data), f"{path} ends inside a chunk"
    return bytes(payload)
