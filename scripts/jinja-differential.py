#!/usr/bin/python3
# Differential check of the Jinja interpreter: renders random small templates
# (expressions, filters, tests, if/for/set/namespace, whitespace control) with
# python3-jinja2 configured like transformers and with `tern render`, and
# reports every difference.
#
#   /usr/bin/python3 scripts/jinja-differential.py SEED build/cli/tern N
import datetime, json, os, random, subprocess, sys, tempfile
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def rx(m): raise jinja2.exceptions.TemplateError(m)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"]=tojson; env.globals["raise_exception"]=rx
env.globals["strftime_now"]=lambda f: datetime.datetime(2024,7,26).strftime(f)
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 1)
vals = ["x", "s", "n", "f", "xs", "d", "e", "none", "true", "false", "1", "2.5", "'ab'", "''", "[1, 2]", "{'k': 'v'}", "m.content", "m.role", "xs[0]", "xs[-1]", "d.k", "s[1:]", "missing"]
ops = ["+", "-", "*", "~", "==", "!=", "<", "and", "or", "in", "not in", "//", "%"]
filters = ["trim", "length", "upper", "lower", "tojson", "list", "first", "last", "string", "int", "float", "reverse|list", "join(',')", "default('D')", "items|list|tojson", "sort|list", "unique|list", "title", "capitalize", "abs", "round"]
tests = ["defined", "none", "string", "mapping", "number", "iterable", "sequence", "true", "false", "integer", "float", "boolean"]
def expr(depth=0):
    r = random.random()
    if depth > 2 or r < 0.3: return random.choice(vals)
    if r < 0.5: return f"({expr(depth+1)} {random.choice(ops)} {expr(depth+1)})"
    if r < 0.65: return f"{expr(depth+1)}|{random.choice(filters)}"
    if r < 0.75: return f"({expr(depth+1)} is {'not ' if random.random()<0.3 else ''}{random.choice(tests)})"
    if r < 0.85: return f"({expr(depth+1)} if {expr(depth+1)} else {expr(depth+1)})"
    if r < 0.92: return f"not {expr(depth+1)}"
    meths = ['strip()','split()','upper()','startswith("a")','replace("a","b")','lstrip("x")','split("b")']
    return random.choice(['s','m.content']) + "." + random.choice(meths)
ws = ["", "\n", "  ", "\n  ", " \n\t"]
def stmt(depth=0):
    r = random.random()
    W = lambda: random.choice(ws)
    dash = lambda: random.choice(["", "-", "+"]) if random.random() < 0.5 else ""
    if depth > 2 or r < 0.35: return W() + "{{" + random.choice(["", "-"]) + " " + expr() + " " + random.choice(["", "-"]) + "}}" + W()
    if r < 0.5: return W() + f"{{%{dash()} if {expr()} %}}{body(depth+1)}{{% else {dash()}%}}{body(depth+1)}{{%{dash()} endif %}}" + W()
    if r < 0.65: return W() + f"{{% for it in {random.choice(['xs','messages','d','s','range(3)','xs|reverse'])} %}}{{{{ loop.index }}}}{{{{ it }}}}{body(depth+1)}{{% endfor %}}" + W()
    if r < 0.75: return W() + f"{{% set v = {expr()} %}}{{{{ v }}}}" + W()
    if r < 0.82: return W() + "{# c #}" + W()
    if r < 0.9: return W() + "text" + W()
    return W() + f"{{%- set ns = namespace(a=0) %}}{{% for it in xs %}}{{% set ns.a = ns.a + it %}}{{% endfor %}}{{{{ ns.a }}}}" + W()
def body(depth): return "".join(stmt(depth) for _ in range(random.randint(1,3)))
ctx = {"x": 3, "s": "abc  b ", "n": None, "f": 1.5, "xs": [1, 2, 3], "d": {"k": "v", "j": 2}, "e": [], "m": {"role": "user", "content": "héllo b"}, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}
tern = sys.argv[2]
n_same = n_diff = n_err = 0
WORK = tempfile.mkdtemp(prefix="jinja-diff-")
json.dump(ctx, open(WORK + "/conv.json", "w"))
conv = {"messages": ctx["messages"]}
for i in range(int(sys.argv[3])):
    t = body(0)
    try:
        exp = env.from_string(t).render(**ctx); ok = True
    except Exception as ex:
        exp = None; ok = False
    open(WORK + "/t.jinja", "w").write(t)
    args = [tern, "render", "--chat-template", WORK + "/t.jinja", "--date", "2024-07-26"]
    for k, v in ctx.items():
        if k != "messages": args += ["--var", f"{k}={json.dumps(v)}"]
    p = subprocess.run(args + [WORK + "/conv.json"], capture_output=True)
    got = p.stdout.decode() if p.returncode == 0 else None
    if (ok and got == exp) or (not ok and got is None):
        n_same += 1
    else:
        n_diff += 1
        if n_diff <= 8:
            print("=== DIFF", repr(t)); print(" jinja:", repr(exp)); print(" tern: ", repr(got), p.stderr.decode()[:200])
print("same", n_same, "diff", n_diff)
