//! Decoding of Kubernetes protobuf request bodies.
//!
//! client-go's typed clients (so kubectl's generators: `kubectl create deployment`, `service`,
//! `role`, `token`, `auth can-i`, ...) send `application/vnd.kubernetes.protobuf` for every
//! built-in kind, with no fallback to JSON. A body is the magic `k8s\0` followed by a
//! `runtime.Unknown` envelope whose `raw` field holds the object. This module turns such bodies
//! into the JSON the rest of the server works with, following the messages in `schema.txt`.
//! Responses are always JSON (clients decode by the response's Content-Type).
//!
//! gogo-protobuf writes every non-pointer field, even when empty, so zero scalars are dropped
//! unless the Go field is a pointer: kubectl's empty `generateName` must not be stored as `""`,
//! while `replicas: 0` or `automountServiceAccountToken: false` must stay.

mod schema;
mod wire;

use serde_json::{Map, Value};

use schema::{FieldDef, Label, messages};
use wire::Reader;

const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body could not be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtobufError {
    /// Not a Kubernetes protobuf envelope, or a truncated or malformed message.
    #[error("malformed protobuf body: {0}")]
    Malformed(String),
    /// A kind this server does not decode from protobuf.
    #[error("protobuf bodies are not supported for {0}; send JSON")]
    UnsupportedKind(String),
}

/// Decodes a `k8s\0`-prefixed body into the object's JSON form.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope =
        body.strip_prefix(MAGIC).ok_or_else(|| ProtobufError::Malformed("missing the k8s magic prefix".into()))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let mut reader = Reader { buf: envelope };
    while !reader.buf.is_empty() {
        match reader.tag()? {
            (1, 2) => {
                let type_meta = decode_message(reader.bytes()?, "k8s.io.apimachinery.pkg.runtime.TypeMeta")?;
                let text = |f: &str| type_meta.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
                (api_version, kind) = (text("apiVersion"), text("kind"));
            }
            (2, 2) => raw = reader.bytes()?,
            (_, wire) => reader.skip(wire)?,
        }
    }
    let message = message_for(&api_version, &kind)
        .ok_or_else(|| ProtobufError::UnsupportedKind(format!("{api_version}, Kind={kind}")))?;
    let mut object = decode_message(raw, &message)?;
    object["apiVersion"] = Value::String(api_version);
    object["kind"] = Value::String(kind);
    Ok(object)
}

/// The message of a kind: `k8s.io.api.<group's first label>.<version>.<Kind>`.
fn message_for(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let package = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    let candidates = [
        format!("k8s.io.api.{package}.{version}.{kind}"),
        format!("k8s.io.apimachinery.pkg.apis.meta.{version}.{kind}"),
    ];
    candidates.into_iter().find(|m| messages().contains_key(m.as_str()))
}

fn malformed(what: impl Into<String>) -> ProtobufError {
    ProtobufError::Malformed(what.into())
}

fn decode_message(buf: &[u8], name: &str) -> Result<Value, ProtobufError> {
    if let Some(value) = well_known(buf, name)? {
        return Ok(value);
    }
    let fields = messages().get(name).ok_or_else(|| malformed(format!("no schema for {name}")))?;
    let mut out = Map::new();
    let mut reader = Reader { buf };
    while !reader.buf.is_empty() {
        let (number, wire) = reader.tag()?;
        let Some(field) = fields.iter().find(|f| f.number == number) else {
            reader.skip(wire)?;
            continue;
        };
        match field.label {
            Label::Map => {
                let entry = expect_len(&mut reader, wire, number)?;
                let (key, value) = map_entry(entry, field.ty)?;
                if let Value::Object(map) = out.entry(field.json).or_insert_with(|| Value::Object(Map::new())) {
                    map.insert(key, value);
                }
            }
            Label::Repeated if wire == 2 && is_varint(field.ty) => {
                let mut packed = Reader { buf: reader.bytes()? };
                while !packed.buf.is_empty() {
                    let value = scalar(&mut packed, field.ty, 0)?;
                    push(&mut out, field.json, value);
                }
            }
            Label::Repeated => {
                let value = value(&mut reader, field, wire)?;
                push(&mut out, field.json, value);
            }
            Label::Optional => {
                let value = value(&mut reader, field, wire)?;
                match value {
                    Value::Null => {}
                    Value::Object(members) if field.inline => out.extend(members),
                    v if is_zero(&v) && !field.pointer => {}
                    v => {
                        out.insert(field.json.to_owned(), v);
                    }
                }
            }
        }
    }
    Ok(Value::Object(out))
}

fn expect_len<'a>(reader: &mut Reader<'a>, wire: u64, number: u64) -> Result<&'a [u8], ProtobufError> {
    if wire != 2 {
        return Err(malformed(format!("field {number} has wire type {wire}")));
    }
    reader.bytes()
}

fn is_varint(ty: &str) -> bool {
    matches!(ty, "int32" | "int64" | "uint32" | "uint64" | "bool")
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Null => true,
        _ => false,
    }
}

fn value(reader: &mut Reader<'_>, field: &FieldDef, wire: u64) -> Result<Value, ProtobufError> {
    if field.ty.contains('.') {
        return decode_message(expect_len(reader, wire, field.number)?, field.ty);
    }
    scalar(reader, field.ty, wire)
}

fn scalar(reader: &mut Reader<'_>, ty: &str, wire: u64) -> Result<Value, ProtobufError> {
    Ok(match ty {
        "string" => Value::String(text(expect_len(reader, wire, 0)?)?),
        "bytes" => Value::String(crate::base64::encode(expect_len(reader, wire, 0)?)),
        // Negative int32s are sign-extended to 64 bits on the wire.
        "int32" | "int64" => Value::from(reader.varint()? as i64),
        "uint32" | "uint64" => Value::from(reader.varint()?),
        "bool" => Value::Bool(reader.varint()? != 0),
        "double" => Value::from(f64::from_bits(reader.fixed64()?)),
        other => return Err(malformed(format!("unsupported scalar type {other}"))),
    })
}

fn text(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("string field is not UTF-8"))
}

fn map_entry(entry: &[u8], value_type: &str) -> Result<(String, Value), ProtobufError> {
    let mut reader = Reader { buf: entry };
    let (mut key, mut value) = (String::new(), None);
    while !reader.buf.is_empty() {
        match reader.tag()? {
            (1, wire) => key = text(expect_len(&mut reader, wire, 1)?)?,
            (2, wire) if value_type.contains('.') => {
                value = Some(decode_message(expect_len(&mut reader, wire, 2)?, value_type)?)
            }
            (2, wire) => value = Some(scalar(&mut reader, value_type, wire)?),
            (_, wire) => reader.skip(wire)?,
        }
    }
    let empty =
        if value_type == "string" || value_type == "bytes" { Value::String(String::new()) } else { Value::Null };
    Ok((key, value.unwrap_or(empty)))
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    if let Value::Array(items) = out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
        items.push(value);
    }
}

/// Messages whose JSON form is not their fields: times, int-or-string, quantities, raw JSON.
fn well_known(buf: &[u8], name: &str) -> Result<Option<Value>, ProtobufError> {
    let Some(short) = name.strip_prefix("k8s.io.apimachinery.pkg.") else { return Ok(None) };
    let fields = || -> Result<Vec<(u64, Value)>, ProtobufError> {
        let mut reader = Reader { buf };
        let mut found = Vec::new();
        while !reader.buf.is_empty() {
            let (number, wire) = reader.tag()?;
            let v = if wire == 2 {
                Value::String(String::from_utf8_lossy(reader.bytes()?).into_owned())
            } else if wire == 0 {
                Value::from(reader.varint()? as i64)
            } else {
                reader.skip(wire)?;
                continue;
            };
            found.push((number, v));
        }
        Ok(found)
    };
    let get = |found: &[(u64, Value)], n: u64| found.iter().rev().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    Ok(Some(match short {
        "apis.meta.v1.Time" | "apis.meta.v1.MicroTime" => {
            let found = fields()?;
            let seconds = get(&found, 1).and_then(|v| v.as_i64()).unwrap_or(0);
            let nanos = get(&found, 2).and_then(|v| v.as_i64()).unwrap_or(0);
            if seconds == 0 && nanos == 0 {
                return Ok(Some(Value::Null));
            }
            let stamp = jiff::Timestamp::from_second(seconds).map_err(|e| malformed(e.to_string()))?;
            let base = stamp.strftime("%Y-%m-%dT%H:%M:%S");
            Value::String(if short.ends_with("MicroTime") {
                format!("{base}.{:06}Z", nanos / 1000)
            } else {
                format!("{base}Z")
            })
        }
        "util.intstr.IntOrString" => {
            let found = fields()?;
            match get(&found, 1).and_then(|v| v.as_i64()).unwrap_or(0) {
                0 => get(&found, 2).unwrap_or(Value::from(0)),
                _ => get(&found, 3).unwrap_or(Value::String(String::new())),
            }
        }
        "api.resource.Quantity" => get(&fields()?, 1).unwrap_or(Value::String(String::new())),
        "runtime.RawExtension" | "apis.meta.v1.FieldsV1" => {
            let mut reader = Reader { buf };
            let mut raw = &[][..];
            while !reader.buf.is_empty() {
                match reader.tag()? {
                    (1, 2) => raw = reader.bytes()?,
                    (_, wire) => reader.skip(wire)?,
                }
            }
            serde_json::from_slice(raw).unwrap_or_else(|_| Value::String(crate::base64::encode(raw)))
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests;
