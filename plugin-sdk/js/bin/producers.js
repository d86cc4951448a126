// Records what built a component in its root `producers` custom section (the WebAssembly tool
// conventions), which `weft check` reads: jco writes none that names JavaScript.
import { readFileSync, writeFileSync } from 'node:fs';

function leb(value) {
  const out = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    out.push(byte | (rest ? 0x80 : 0));
  } while (rest);
  return Buffer.from(out);
}

function readLeb(data, start) {
  let value = 0;
  let shift = 0;
  let pos = start;
  for (;;) {
    const byte = data[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, pos];
  }
}

function name(text) {
  const encoded = Buffer.from(text, 'utf8');
  return Buffer.concat([leb(encoded.length), encoded]);
}

function readName(data, start) {
  const [size, pos] = readLeb(data, start);
  return [data.subarray(pos, pos + size).toString('utf8'), pos + size];
}

function parse(data, start) {
  const fields = {};
  let [count, pos] = readLeb(data, start);
  for (; count > 0; count--) {
    let field;
    let values;
    [field, pos] = readName(data, pos);
    [values, pos] = readLeb(data, pos);
    for (; values > 0; values--) {
      let tool;
      let version;
      [tool, pos] = readName(data, pos);
      [version, pos] = readName(data, pos);
      fields[field] ??= {};
      fields[field][tool] = version;
    }
  }
  return fields;
}

function encode(fields) {
  const parts = [name('producers'), leb(Object.keys(fields).length)];
  for (const [field, values] of Object.entries(fields)) {
    parts.push(name(field), leb(Object.keys(values).length));
    for (const [tool, version] of Object.entries(values)) parts.push(name(tool), name(version));
  }
  const payload = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0]), leb(payload.length), payload]);
}

// Merges `fields` ({language: {JavaScript: ''}, ...}) into the root producers section of the
// component at `path` (ours come first), replacing the section in place or appending one.
export function addProducers(path, fields) {
  const data = readFileSync(path);
  for (let pos = 8; pos < data.length; ) {
    const [size, body] = readLeb(data, pos + 1);
    if (data[pos] === 0) {
      const [section, afterName] = readName(data, body);
      if (section === 'producers') {
        const merged = structuredClone(fields);
        for (const [field, values] of Object.entries(parse(data, afterName))) {
          merged[field] ??= {};
          for (const [tool, version] of Object.entries(values)) merged[field][tool] ??= version;
        }
        writeFileSync(
          path,
          Buffer.concat([data.subarray(0, pos), encode(merged), data.subarray(body + size)]),
        );
        return;
      }
    }
    pos = body + size;
  }
  writeFileSync(path, Buffer.concat([data, encode(fields)]));
}
