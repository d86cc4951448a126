"""Records what built a component in its root ``producers`` custom section (the WebAssembly tool
conventions), which ``weft check`` reads: componentize-py writes none that names Python."""

from pathlib import Path

Fields = dict[str, dict[str, str]]


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_leb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _name(text: str) -> bytes:
    encoded = text.encode()
    return _leb(len(encoded)) + encoded


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _read_leb(data, pos)
    return data[pos : pos + size].decode(), pos + size


def _parse(body: bytes, pos: int) -> Fields:
    fields: Fields = {}
    count, pos = _read_leb(body, pos)
    for _ in range(count):
        field, pos = _read_name(body, pos)
        values, pos = _read_leb(body, pos)
        for _ in range(values):
            name, pos = _read_name(body, pos)
            version, pos = _read_name(body, pos)
            fields.setdefault(field, {})[name] = version
    return fields


def _encode(fields: Fields) -> bytes:
    payload = _name("producers") + _leb(len(fields))
    for field, values in fields.items():
        payload += _name(field) + _leb(len(values))
        for name, version in values.items():
            payload += _name(name) + _name(version)
    return b"\x00" + _leb(len(payload)) + payload


def add(path: Path, fields: Fields) -> None:
    """Merges ``fields`` into the root producers section of the component at ``path`` (ours come
    first), replacing the section in place or appending one."""
    data = path.read_bytes()
    pos, found = 8, None
    while pos < len(data):
        section_id = data[pos]
        size, body = _read_leb(data, pos + 1)
        if section_id == 0:
            name, name_end = _read_name(data, body)
            if name == "producers":
                found = (pos, body + size, _parse(data[: body + size], name_end))
                break
        pos = body + size
    if found is None:
        path.write_bytes(data + _encode(fields))
        return
    start, end, existing = found
    merged = {field: dict(values) for field, values in fields.items()}
    for field, values in existing.items():
        for name, version in values.items():
            merged.setdefault(field, {}).setdefault(name, version)
    path.write_bytes(data[:start] + _encode(merged) + data[end:])
