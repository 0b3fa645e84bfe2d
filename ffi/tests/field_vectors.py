#!/usr/bin/env python3
"""Writes the field vectors of testdata/field/vectors.json as plain lines
for the C test test_vectors.c (C has no JSON parser at hand).

Every value is given in its C form (see strongroom_value_type in
strongroom.h), hex-encoded; "-" stands for SQL NULL or no row key.

  keys FIELD DETERMINISTIC BLIND_INDEX VERSION
  det TABLE COLUMN TYPE VALUE TOKEN
  rand TABLE COLUMN TYPE VALUE ROW TOKEN
  bi TABLE COLUMN TYPE NORMALIZER LEN VALUE TERM
"""
import json
import sys


def c_form(ty, value):
    if value is None:
        return "-"
    if ty == "bytes":
        return value  # already hex of the raw bytes
    return value.encode("utf-8").hex()


def main():
    v = json.load(open(sys.argv[1]))
    k = v["purpose_keys"]
    print("keys", k["field"], k["deterministic"], k["blind_index"], v["key_version"])
    for d in v["deterministic"]:
        print("det", d["table"], d["column"], d["type"], c_form(d["type"], d["value"]), d["token"])
    for r in v["random"]:
        print("rand", r["table"], r["column"], r["type"], c_form(r["type"], r["value"]),
              r["row"] if r["row"] is not None else "-", r["token"])
    for b in v["blind_index"]:
        print("bi", b["table"], b["column"], b["type"], b["normalizer"], b["len"],
              c_form(b["type"], b["value"]), b["term"])


main()
