#!/usr/bin/python3
"""Validates a JSON document against a named JSON schema of a schema directory.

  validate_json.py SCHEMA_DIR SCHEMA_NAME DOCUMENT

SCHEMA_NAME is a file of SCHEMA_DIR ("services.json", "requests.json", ...); $refs between
the schemas ("request.json") resolve inside SCHEMA_DIR. The formats date-time (RFC 3339) and
uri (an absolute URI with a scheme) are checked here, since Debian's jsonschema checks them
only with optional modules. Prints each error with the path where it was found
and exits 1 when there are errors, 2 when the files cannot be read; prints "valid" and exits
0 otherwise. Uses Debian's python3-jsonschema (scripts/setup.sh installs it).
"""
import json
import os
import re
import sys
import urllib.parse
import warnings

import jsonschema

FORMATS = jsonschema.FormatChecker()

RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")


@FORMATS.checks("date-time")
def is_date_time(value):
    return not isinstance(value, str) or RFC3339.match(value) is not None


@FORMATS.checks("uri")
def is_uri(value):
    if not isinstance(value, str):
        return True
    if any(c.isspace() or ord(c) < 0x20 for c in value):
        return False
    parts = urllib.parse.urlsplit(value)
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme)) and bool(parts.netloc or parts.path)


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema_dir, schema_name, document = argv[1:]
    try:
        with open(os.path.join(schema_dir, schema_name), encoding="utf-8") as f:
            schema = json.load(f)
        with open(document, encoding="utf-8") as f:
            instance = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read: {e}", file=sys.stderr)
        return 2
    base = "file://" + os.path.abspath(schema_dir) + "/"
    with warnings.catch_warnings():
        # RefResolver is deprecated in newer jsonschema releases but is what Debian 12 has.
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(base_uri=base, referrer=schema)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
        validator = cls(schema, resolver=resolver, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(document)"
        print(f"{where}: {e.message}")
    if errors:
        print(f"{len(errors)} error(s) against {schema_name}")
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
