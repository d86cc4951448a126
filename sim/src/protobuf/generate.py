#!/usr/bin/env python3
"""Writes schema.txt: the Kubernetes protobuf messages the emulator decodes.

Usage: generate.py API_GIT_DIR APIMACHINERY_GIT_DIR > schema.txt

Reads generated.proto and types.go of k8s.io/api and k8s.io/apimachinery (bare git directories,
HEAD), keeps the messages reachable from ROOTS, drops comments, and annotates each field with what
the .proto does not say but decoding needs: its JSON name (`uid` where the .proto says `uID`), whether
it is an embedded struct whose fields the JSON form spreads into the parent (`inline`), and whether the
Go field is a pointer (`ptr`: a zero value was set on purpose and is kept).
"""
import re
import subprocess
import sys

API, MACHINERY = sys.argv[1], sys.argv[2]
GROUPS = ["core", "apps", "rbac", "authentication", "authorization", "coordination", "events", "batch", "networking"]
MACHINERY_PKGS = {
    "k8s.io.apimachinery.pkg.apis.meta.v1": "pkg/apis/meta/v1",
    "k8s.io.apimachinery.pkg.runtime": "pkg/runtime",
    "k8s.io.apimachinery.pkg.util.intstr": "pkg/util/intstr",
    "k8s.io.apimachinery.pkg.api.resource": "pkg/api/resource",
}
ROOTS = {
    "core": ["Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "Pod", "Event", "Endpoints",
             "PersistentVolumeClaim", "PersistentVolume", "ReplicationController"],
    "apps": ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"],
    "rbac": ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    "authentication": ["TokenRequest", "TokenReview", "SelfSubjectReview"],
    "authorization": ["SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
                      "SelfSubjectRulesReview"],
    "coordination": ["Lease"],
    "events": ["Event"],
    "batch": ["Job", "CronJob"],
    "networking": ["Ingress"],
}
EXTRA_ROOTS = ["k8s.io.apimachinery.pkg.runtime.Unknown", "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
SCALARS = {"string", "bytes", "int32", "int64", "bool", "double", "float", "uint32", "uint64", "fixed64"}


def show(repo, path):
    return subprocess.run(["git", "--git-dir", repo, "show", f"HEAD:{path}"], capture_output=True, text=True).stdout


def ls(repo, prefix):
    out = subprocess.run(["git", "--git-dir", repo, "ls-tree", "--name-only", "HEAD", prefix + "/"],
                         capture_output=True, text=True).stdout
    return [p for p in out.split() if p.endswith(".go") and not p.endswith("_test.go")]


messages = {}  # fq name -> list of (label, type, name, number)
go_fields = {}  # (package, message, proto name) -> (json name, pointer)


def parse_proto(text):
    package = re.search(r"^package ([\w.]+);", text, re.M).group(1)
    current = None
    for line in text.splitlines():
        line = line.split("//")[0].strip()
        if m := re.match(r"message (\w+) \{", line):
            current = f"{package}.{m.group(1)}"
            messages[current] = []
        elif line == "}":
            current = None
        elif current and (m := re.match(r"(optional|repeated) ([\w.]+) (\w+) = (\d+);", line)):
            messages[current].append((m.group(1), qualify(m.group(2), package), m.group(3), int(m.group(4))))
        elif current and (m := re.match(r"map<string, ([\w.]+)> (\w+) = (\d+);", line)):
            messages[current].append(("map", qualify(m.group(1), package), m.group(2), int(m.group(3))))
    return package


def qualify(t, package):
    if t in SCALARS:
        return t
    return t.lstrip(".") if "." in t else f"{package}.{t}"


def parse_go(text, package):
    struct = None
    for line in text.splitlines():
        if m := re.match(r"type (\w+) struct \{", line):
            struct = m.group(1)
        elif line.startswith("}"):
            struct = None
        elif struct and (m := re.match(r"\s+(?:\w+\s+)?(\S+)\s+`(.*)`", line)):
            go_type, tag = m.group(1), m.group(2)
            proto = re.search(r'protobuf:"[^"]*name=(\w+)', tag)
            json = re.search(r'json:"([^",]*)', tag)
            if proto and json:
                pointer = go_type.startswith("*") and go_type.lstrip("*") in (
                    "int32", "int64", "bool", "string") or go_type.startswith("*") and "." not in go_type and go_type[1:2].isupper()
                # An embedded struct with `json:",inline"` spreads its fields into the parent.
                go_fields[(package, struct, proto.group(1))] = (json.group(1) or "inline", pointer)


for group in GROUPS:
    package = parse_proto(show(API, f"{group}/v1/generated.proto"))
    for path in ls(API, f"{group}/v1"):
        parse_go(show(API, path), package)
for package, path in MACHINERY_PKGS.items():
    parse_proto(show(MACHINERY, f"{path}/generated.proto"))
    for go in ls(MACHINERY, path):
        parse_go(show(MACHINERY, go), package)

keep, todo = set(), [f"k8s.io.api.{g}.v1.{k}" for g, kinds in ROOTS.items() for k in kinds] + EXTRA_ROOTS
while todo:
    name = todo.pop()
    if name in keep or name not in messages:
        continue
    keep.add(name)
    todo.extend(t for _, t, _, _ in messages[name] if t not in SCALARS)

print("# Written by generate.py from the protobuf definitions and Go types of k8s.io/api and")
print("# k8s.io/apimachinery: the messages the emulator decodes. A message line is its full name; each")
print("# field line is `number json-name type` then flags: `repeated`, `map` (string keys), `ptr` (a Go")
print("# pointer: a zero value was set on purpose), `inline` (its members belong to the parent).")
for name in sorted(keep):
    package, _, short = name.rpartition(".")
    print(name)
    for label, t, field, number in messages[name]:
        json, pointer = go_fields.get((package, short, field), (field, False))
        flags = ([label] if label != "optional" else []) + (["ptr"] if pointer else [])
        if json == "inline":
            json, flags = field, flags + ["inline"]
        print(f"  {number} {json} {t}" + "".join(f" {f}" for f in flags))
print(f"{len(keep)} messages", file=sys.stderr)
