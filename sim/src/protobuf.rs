//! Decoding of Kubernetes protobuf request bodies for the simple core kinds.
//!
//! client-go's typed clients (and so kubectl's generators: `kubectl create configmap`, `secret`,
//! `namespace`, `serviceaccount`) send `application/vnd.kubernetes.protobuf`. A body is the magic
//! `k8s\0` followed by a `runtime.Unknown` envelope whose `raw` field holds the object. This module
//! turns such bodies into the JSON the rest of the server works with, using the field numbers of
//! the Kubernetes `generated.proto` files. Other kinds answer 415, and responses are always JSON
//! (clients decode by the response's Content-Type).

use serde_json::{Map, Value};

const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, Copy, Debug)]
enum Field {
    Str(&'static str),
    Bytes(&'static str),
    Int(&'static str),
    Bool(&'static str),
    Time(&'static str),
    Msg(&'static str, Schema),
    RepeatedStr(&'static str),
    RepeatedMsg(&'static str, Schema),
    MapStr(&'static str),
    MapBytes(&'static str),
}

type Schema = &'static [(u64, Field)];

const OWNER_REFERENCE: Schema = &[
    (1, Field::Str("kind")),
    (3, Field::Str("name")),
    (4, Field::Str("uid")),
    (5, Field::Str("apiVersion")),
    (6, Field::Bool("controller")),
    (7, Field::Bool("blockOwnerDeletion")),
];

const OBJECT_META: Schema = &[
    (1, Field::Str("name")),
    (2, Field::Str("generateName")),
    (3, Field::Str("namespace")),
    (5, Field::Str("uid")),
    (6, Field::Str("resourceVersion")),
    (7, Field::Int("generation")),
    (8, Field::Time("creationTimestamp")),
    (9, Field::Time("deletionTimestamp")),
    (10, Field::Int("deletionGracePeriodSeconds")),
    (11, Field::MapStr("labels")),
    (12, Field::MapStr("annotations")),
    (13, Field::RepeatedMsg("ownerReferences", OWNER_REFERENCE)),
    (14, Field::RepeatedStr("finalizers")),
];

const CONFIG_MAP: Schema = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::MapStr("data")),
    (3, Field::MapBytes("binaryData")),
    (4, Field::Bool("immutable")),
];

const SECRET: Schema = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::MapBytes("data")),
    (3, Field::Str("type")),
    (4, Field::MapStr("stringData")),
    (5, Field::Bool("immutable")),
];

const NAMESPACE: Schema = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::Msg("spec", &[(1, Field::RepeatedStr("finalizers"))])),
    (3, Field::Msg("status", &[(1, Field::Str("phase"))])),
];

const LOCAL_OBJECT_REFERENCE: Schema = &[(1, Field::Str("name"))];

const SERVICE_ACCOUNT: Schema = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (
        2,
        Field::RepeatedMsg(
            "secrets",
            &[(1, Field::Str("kind")), (2, Field::Str("namespace")), (3, Field::Str("name"))],
        ),
    ),
    (3, Field::RepeatedMsg("imagePullSecrets", LOCAL_OBJECT_REFERENCE)),
    (4, Field::Bool("automountServiceAccountToken")),
];

const MAP_STR_ENTRY: Schema = &[(1, Field::Str("key")), (2, Field::Str("value"))];
const MAP_BYTES_ENTRY: Schema = &[(1, Field::Str("key")), (2, Field::Bytes("value"))];

const RUNTIME_UNKNOWN: Schema =
    &[(1, Field::Msg("typeMeta", &[(1, Field::Str("apiVersion")), (2, Field::Str("kind"))])), (2, Field::Bytes("raw"))];

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
    let unknown = decode_message(envelope, RUNTIME_UNKNOWN)?;
    let api_version = unknown.pointer("/typeMeta/apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = unknown.pointer("/typeMeta/kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        _ => return Err(ProtobufError::UnsupportedKind(format!("{api_version}, Kind={kind}"))),
    };
    let raw = raw_field(envelope)?;
    let mut object = decode_message(&raw, schema)?;
    object["apiVersion"] = Value::String(api_version);
    object["kind"] = Value::String(kind);
    Ok(object)
}

/// The `raw` bytes of the envelope, kept as bytes rather than the base64 the JSON form uses.
fn raw_field(envelope: &[u8]) -> Result<Vec<u8>, ProtobufError> {
    let mut reader = Reader { buf: envelope };
    while !reader.buf.is_empty() {
        let (number, wire) = reader.tag()?;
        if number == 2 && wire == 2 {
            return Ok(reader.bytes()?.to_vec());
        }
        reader.skip(wire)?;
    }
    Ok(Vec::new())
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) =
                self.buf.split_first().ok_or_else(|| ProtobufError::Malformed("truncated varint".into()))?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed("varint too long".into()))
    }

    fn tag(&mut self) -> Result<(u64, u64), ProtobufError> {
        let tag = self.varint()?;
        Ok((tag >> 3, tag & 7))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Malformed("length overflow".into()))?;
        if len > self.buf.len() {
            return Err(ProtobufError::Malformed("truncated field".into()));
        }
        let (field, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(field)
    }

    fn skip(&mut self, wire: u64) -> Result<(), ProtobufError> {
        let width = match wire {
            0 => return self.varint().map(drop),
            1 => 8,
            2 => return self.bytes().map(drop),
            5 => 4,
            other => return Err(ProtobufError::Malformed(format!("unsupported wire type {other}"))),
        };
        if self.buf.len() < width {
            return Err(ProtobufError::Malformed("truncated fixed-width field".into()));
        }
        self.buf = &self.buf[width..];
        Ok(())
    }
}

fn text(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::Malformed("string field is not UTF-8".into()))
}

fn decode_message(buf: &[u8], schema: Schema) -> Result<Value, ProtobufError> {
    let mut reader = Reader { buf };
    let mut out = Map::new();
    while !reader.buf.is_empty() {
        let (number, wire) = reader.tag()?;
        let Some((_, field)) = schema.iter().find(|(n, _)| *n == number) else {
            reader.skip(wire)?;
            continue;
        };
        let expect_len = |w: u64| {
            if w == 2 { Ok(()) } else { Err(ProtobufError::Malformed(format!("field {number} has wire type {w}"))) }
        };
        match *field {
            Field::Str(name) => {
                expect_len(wire)?;
                out.insert(name.into(), Value::String(text(reader.bytes()?)?));
            }
            Field::Bytes(name) => {
                expect_len(wire)?;
                out.insert(name.into(), Value::String(crate::base64::encode(reader.bytes()?)));
            }
            Field::Int(name) => {
                out.insert(name.into(), Value::from(reader.varint()? as i64));
            }
            Field::Bool(name) => {
                out.insert(name.into(), Value::Bool(reader.varint()? != 0));
            }
            Field::Time(name) => {
                expect_len(wire)?;
                let time = decode_message(reader.bytes()?, &[(1, Field::Int("seconds"))])?;
                let seconds = time.get("seconds").and_then(Value::as_i64).unwrap_or(0);
                let stamp =
                    jiff::Timestamp::from_second(seconds).map_err(|e| ProtobufError::Malformed(e.to_string()))?;
                out.insert(name.into(), Value::String(stamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
            }
            Field::Msg(name, inner) => {
                expect_len(wire)?;
                out.insert(name.into(), decode_message(reader.bytes()?, inner)?);
            }
            Field::RepeatedStr(name) => {
                expect_len(wire)?;
                let value = Value::String(text(reader.bytes()?)?);
                push(&mut out, name, value);
            }
            Field::RepeatedMsg(name, inner) => {
                expect_len(wire)?;
                let value = decode_message(reader.bytes()?, inner)?;
                push(&mut out, name, value);
            }
            Field::MapStr(name) | Field::MapBytes(name) => {
                expect_len(wire)?;
                let entry = reader.bytes()?;
                let entry_schema = if matches!(field, Field::MapStr(_)) { MAP_STR_ENTRY } else { MAP_BYTES_ENTRY };
                let decoded = decode_message(entry, entry_schema)?;
                let key = decoded.get("key").and_then(Value::as_str).unwrap_or_default().to_owned();
                let value = decoded.get("value").cloned().unwrap_or_else(|| Value::String(String::new()));
                out.entry(name)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .map(|m| m.insert(key, value));
            }
        }
    }
    Ok(Value::Object(out))
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    if let Value::Array(items) = out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
        items.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(number << 3 | 2, &mut out);
        varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn entry(key: &str, value: &[u8]) -> Vec<u8> {
        [field(1, key.as_bytes()), field(2, value)].concat()
    }

    #[test]
    fn a_configmap_from_kubectl_create_decodes() {
        let meta = [field(1, b"plugin"), field(3, b"default"), field(11, &entry("app", b"web"))].concat();
        let cm =
            [field(1, &meta), field(2, &entry("k", b"v")), field(3, &entry("m.wasm", &[0, 0x61, 0x73, 0x6d]))].concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &cm)].concat();
        assert_eq!(
            decode(&body).unwrap(),
            json!({
                "metadata": {"name": "plugin", "namespace": "default", "labels": {"app": "web"}},
                "data": {"k": "v"},
                "binaryData": {"m.wasm": "AGFzbQ=="},
                "apiVersion": "v1",
                "kind": "ConfigMap",
            })
        );
    }

    #[test]
    fn malformed_and_unsupported_bodies_are_errors() {
        assert!(matches!(decode(b"{}"), Err(ProtobufError::Malformed(_))));
        assert!(matches!(decode(b"k8s\0\x0a\xff"), Err(ProtobufError::Malformed(_))));
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta)].concat();
        assert!(matches!(decode(&body), Err(ProtobufError::UnsupportedKind(_))));
    }
}
