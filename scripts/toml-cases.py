#!/usr/bin/env python3
"""Generates Tests/TOMLTests/Cases/cases.json: TOML documents with what Python's tomllib (TOML 1.0) makes of them.

Each case is {"toml": text, "valid": bool, "value": tagged} where tagged follows toml-test's JSON encoding
({"type": "integer", "value": "5"}; tables are objects, arrays are lists). Dates and times are tagged with their kind
only; floats with their IEEE bits. The Swift parser (Sources/TOML) must agree on every case: the test suite reads this
file (Tests/TOMLTests). Cases come from a hand-written list of the rules' edges and from seeded random documents and
their one-character mutations, so the file is the same on every run. Run it again after changing the lists below:

    python3 scripts/toml-cases.py > Tests/TOMLTests/Cases/cases.json
"""
import datetime
import json
import random
import struct
import sys
import tomllib

INT64 = (-(2**63), 2**63 - 1)


def tag(v):
    if isinstance(v, bool):
        return {"type": "bool", "value": "true" if v else "false"}
    if isinstance(v, int):
        return {"type": "integer", "value": str(v)}
    if isinstance(v, float):
        if v != v:
            return {"type": "float", "value": "nan"}
        return {"type": "float", "value": str(struct.unpack("<Q", struct.pack("<d", v))[0])}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, datetime.datetime):
        return {"type": "datetime" if v.tzinfo else "datetime-local"}
    if isinstance(v, datetime.date):
        return {"type": "date-local"}
    if isinstance(v, datetime.time):
        return {"type": "time-local"}
    if isinstance(v, list):
        return [tag(x) for x in v]
    if isinstance(v, dict):
        return {k: tag(x) for k, x in v.items()}
    raise TypeError(type(v))


def fits(v):
    """Integers outside 64 bits are refused by Meridian (TOML 1.0 lets a parser refuse what it cannot represent)."""
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return INT64[0] <= v <= INT64[1]
    if isinstance(v, list):
        return all(fits(x) for x in v)
    if isinstance(v, dict):
        return all(fits(x) for x in v.values())
    return True


def case(text):
    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {"toml": text, "valid": False}
    except RecursionError:
        return None
    if not fits(value):
        return {"toml": text, "valid": False}
    return {"toml": text, "valid": True, "value": tag(value)}


HAND = [
    # Keys
    'a = 1', 'a-b_C9 = 1', '1234 = 1', '"a b" = 1', "'a\"b' = 1", '"" = 1', "'' = 1", 'a . b . c = 1', 'a.b = 1\na.c = 2',
    'a.b = 1\na.b = 2', 'a = 1\na = 2', 'a.b = 1\na = 2', 'a = 1\na.b = 2', '"a.b" = 1\na.b = 2', 'a = ', '= 1', 'a 1',
    'a = 1 b = 2', 'a = 1 # c', 'a = 1# c', 'a=1', '  \ta = 1', 'é = 1', '"é" = 1', 'a."b.c".d = 1', 'a = 1\n\n\n',
    '"""a""" = 1', "'''a''' = 1", 'a.=1', '.a=1', 'a..b=1', '[a]\nb = 1\n[a.c]\nd = 2',
    # Tables
    '[a]\n[a]', '[a.b]\n[a]', '[a]\n[a.b]\n[a]', '[a]\nb.c = 1\n[a.b]', '[a]\nb.c = 1\n[a.b.d]', 'a.b = 1\n[a]',
    'a.b = 1\n[a.c]', '[a.b.c]\nz = 9\n[a]\nb.c.t = 1', '[a.b.c]\nz = 9\n[a]\nb.d = 1', '[a.b]\nc = 1\n[a]\nb.d = 2',
    '[ a . b ]', '[a]]', '[[a]', '[ [a]]', '[[a] ]', '[]', '[[]]', '[a]\nx=1\n[b]\nx=2', '[a] b = 1', '[a] # c',
    '[[a]]\n[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2', '[[a]]\n[a]', '[a]\n[[a]]', 'a = []\n[[a]]', 'a = [{}]\n[[a]]',
    'a = [{}]\n[a.b]', 'a = {}\n[a]', 'a = {}\n[a.b]', '[[a.b]]\n[a]\nc = 1', '[[a]]\nb = 1\n[[a.c]]\nd = 2\n[[a]]\nb = 3',
    '[a.b]\n[[a]]', '[[a]]\nb.c = 1\n[a.b]', '[[a]]\n[a.b]\n[a.b]', '[a]\n[b]\n[a.c]', '["a".\'b\']', '[a.b]\nc=1\n[a.b.c]',
    # Inline tables
    'a = {}', 'a = { b = 1 }', 'a = {b=1,c=2}', 'a = { b = 1, }', 'a = { b = 1\n}', 'a = {\nb = 1 }', 'a = { b.c = 1, b.d = 2 }',
    'a = { b = {c = 1}, b.d = 2 }', 'a = { b = 1, b = 2 }', 'a = {b = 1}\na.c = 2', 'a = { b = [1, {c = 2}] }', 'a = {,}',
    'a = { b = 1 c = 2 }', 'a = { b = 1, # c\n}', 'a = { [b] = 1 }', 'a = {b = {c = {d = {}}}}',
    # Arrays
    'a = []', 'a = [1]', 'a = [1,]', 'a = [1,,2]', 'a = [,]', 'a = [\n1,\n2,\n]', 'a = [ # c\n1, # d\n# e\n2 # f\n]',
    'a = [1, "a", 1.5, true, [], {}]', 'a = [[1, 2], [3]]', 'a = [1 2]', 'a = [', 'a = [1', 'a = ]', 'a = [[]', 'a = [{a=1},{a=2}]',
    # Strings
    'a = "a\\tb"', 'a = "\\u00e9\\U0001F600"', 'a = "\\uD800"', 'a = "\\U00110000"', 'a = "\\x41"', 'a = "\\e"', 'a = "\\u12"',
    'a = "\\"', 'a = "a', 'a = "a\nb"', "a = 'a\\b'", "a = 'a", "a = 'it''s'", 'a = "\t"', 'a = "\x01"', 'a = "\x7f"',
    'a = """\na"""', 'a = """a\nb"""', 'a = """a\\\n   b"""', 'a = """a \\  \n\n  b"""', 'a = """a\\ b"""', 'a = """"a""""',
    'a = """a"""""', 'a = """a""""""', 'a = """\r\na\r\nb"""', 'a = """a\rb"""', "a = '''\na'''", "a = ''''a''''", "a = '''a''''''",
    "a = '''a\\b\nc'''", 'a = """"""', "a = ''''''", 'a = """\\\n"""', 'a = """\\\n  \n  \\\n  x"""', 'a = """ \\""" """',
    'a = "\\ "', 'a = """a', "a = '''a", 'a = "\\b\\f\\n\\r\\"\\\\"', 'a = "é"', 'a = """\x01"""', "a = '\x7f'",
    # Integers
    'a = 0', 'a = +0', 'a = -0', 'a = 00', 'a = 01', 'a = 1_000', 'a = 1__0', 'a = _1', 'a = 1_', 'a = +1', 'a = ++1',
    'a = 9223372036854775807', 'a = 9223372036854775808', 'a = -9223372036854775808', 'a = -9223372036854775809',
    'a = 0x7FFFFFFFFFFFFFFF', 'a = 0x8000000000000000', 'a = 0xdead_BEEF', 'a = 0x', 'a = 0x_1', 'a = +0x1', 'a = 0o17',
    'a = 0o8', 'a = 0b1010', 'a = 0b2', 'a = 0X1', 'a = 0B1', 'a = 1a', 'a = 0x1g', 'a = -0x1',
    # Floats
    'a = 1.0', 'a = 1.', 'a = .5', 'a = 1e5', 'a = 1E+5', 'a = 1e-5', 'a = 1.5e5', 'a = 1e', 'a = 1e5.5', 'a = 1.e5', 'a = 0.0',
    'a = -0.0', 'a = +0.0', 'a = 00.5', 'a = 1_0.5_0', 'a = 1._5', 'a = 1.5_', 'a = 1e_5', 'a = 1e05', 'a = 1e-0_5', 'a = inf',
    'a = +inf', 'a = -inf', 'a = nan', 'a = +nan', 'a = -nan', 'a = Inf', 'a = NaN', 'a = infinity', 'a = 1e400', 'a = 123e-4',
    'a = 3.14159265358979323846', 'a = 5e-324', 'a = 0e0', 'a = 0.1e1_0', 'a = 1e+', 'a = -.5', 'a = 1.5.5',
    # Booleans
    'a = true', 'a = false', 'a = True', 'a = tru', 'a = truex', 'a = true1',
    # Dates and times
    'a = 1979-05-27T07:32:00Z', 'a = 1979-05-27T07:32:00-07:00', 'a = 1979-05-27T07:32:00.999999+05:30',
    'a = 1979-05-27 07:32:00Z', 'a = 1979-05-27t07:32:00z', 'a = 1979-05-27T07:32:00', 'a = 1979-05-27T07:32:00.5',
    'a = 1979-05-27', 'a = 07:32:00', 'a = 07:32:00.123456789', 'a = 07:32', 'a = 7:32:00', 'a = 24:00:00', 'a = 23:60:00',
    'a = 23:59:60', 'a = 2000-02-29', 'a = 1900-02-29', 'a = 2001-02-29', 'a = 2000-04-31', 'a = 2000-13-01', 'a = 2000-00-01',
    'a = 0000-01-01', 'a = 2000-1-01', 'a = 1979-05-27T07:32:00+24:00', 'a = 1979-05-27T07:32:00+07', 'a = 1979-05-27T07:32',
    'a = 1979-05-27 07:32:00', 'a = 1979-05-27 x', 'a = 1979-05-27T', 'a = 1979-05-27T07:32:00.Z', 'a = [1979-05-27, 07:32:00]',
    'a = 1979-05-27T07:32:00ZZ', 'a = 1979-05-27  07:32:00',
    # Layout
    '# only a comment', '', '\n\n', 'a = 1\r\nb = 2\r\n', 'a = 1\rb = 2', '# c \x01', '# c \t tab', 'a = 1 # c\x7f',
    'a = 1\n\x00', '  ', '\t[a]\n\tb = 1',
]

# A document with every construct, the template the random cases are drawn around.
PIECES = [
    'title = "Meridian"', "path = 'C:\\dir'", 'n = 42', 'neg = -17', 'hex = 0xff', 'f = 6.626e-34', 'ok = true',
    'when = 1979-05-27T07:32:00Z', 'list = [1, 2, 3]', 'nested = [[1, 2], ["a"]]', 'inline = { x = 1, y.z = "two" }',
    'dotted.key.here = "v"', '"quoted key" = 1', 'ml = """\nline one\nline two"""', "lit = '''\nraw \\n'''",
    'multi = [\n  "a", # c\n  "b",\n]', '[server]', 'host = "0.0.0.0"', 'port = 8443', '[[orgs]]', 'id = "fr"', '[[orgs]]',
    'id = "jp"', '[orgs.extra]', 'note = "x"', '[a.b.c]', 'deep = 1', '# a comment', '', 'tables = [{a = 1}, {a = 2}]',
]
NOISE = list('[]{}=,."\'#\n\\ tfx019_-+:eE') + ['"""', "'''", '\t', '\r', '[[', ']]']


def random_cases(rng, count):
    out = []
    for _ in range(count):
        lines = rng.sample(PIECES, rng.randint(1, 8))
        text = "\n".join(lines) + "\n"
        out.append(text)
        for _ in range(3):
            k = rng.randrange(len(text) + 1)
            op = rng.randrange(3)
            if op == 0:
                out.append(text[:k] + rng.choice(NOISE) + text[k:])
            elif op == 1 and k < len(text):
                out.append(text[:k] + text[k + 1:])
            else:
                out.append(text[:k] + rng.choice(NOISE) + text[k + 1:])
    return out


def main():
    rng = random.Random(20261203)
    texts = HAND + random_cases(rng, int(__import__("os").environ.get("TOML_CASES", "1000")))
    cases, seen = [], set()
    for text in texts:
        if text in seen:
            continue
        seen.add(text)
        c = case(text)
        if c is not None:
            cases.append(c)
    # One case per line, so that a change to the generator reads as a diff.
    sys.stdout.write('{"generator": "scripts/toml-cases.py", "python": "%s", "cases": [\n' % sys.version.split()[0])
    sys.stdout.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases))
    sys.stdout.write("\n]}\n")


if __name__ == "__main__":
    main()
