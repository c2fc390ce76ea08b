#!/usr/bin/python3
# Renders every chat template in tests/data/chat-templates/ over every
# conversation in tests/data/chat-templates/conversations/ with Debian's
# python3-jinja2, configured the way Hugging Face transformers'
# apply_chat_template configures it, and writes the golden outputs that
# Tern's interpreter must reproduce byte for byte.
#
#   /usr/bin/python3 scripts/gen-template-goldens.py
#
# The environment (facts taken from transformers' chat template utilities):
#   ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
#                                 extensions=[loopcontrols])
#   tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
#       = json.dumps with those arguments
#   raise_exception(msg) raises a TemplateError
#   strftime_now(fmt) formats "now" (here fixed to FIXED_DATE for reproducibility)
#   variables: messages, tools (None when absent), documents (None),
#              add_generation_prompt, bos_token, eos_token, plus extras.
#
# Output: golden/manifest.json lists every case (template, conversation,
# variables, expected file or expected error); golden/<template>/<case>.txt
# holds the exact rendered bytes.
#
# It also renders the interpreter's per-construct cases
# (tests/data/jinja/constructs.src.json: template, variables, group) into
# tests/data/jinja/constructs.json with the expected output, or
# "error": true where Jinja2 refuses the template.
import datetime
import json
import os
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "chat-templates")
FIXED_DATE = datetime.datetime(2024, 7, 26)

# Special tokens each model's tokenizer defines (tokenizer_config.json).
SPECIAL_TOKENS = {
    "Qwen-Qwen2.5-7B-Instruct": (None, "<|im_end|>"),
    "Qwen-Qwen3-0.6B": (None, "<|im_end|>"),
    "Qwen-QwQ-32B": (None, "<|im_end|>"),
    "meta-llama-Llama-3.1-8B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "HuggingFaceTB-SmolLM3-3B": (None, "<|im_end|>"),
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use": ("<|begin_of_text|>", "<|im_end|>"),
}


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_DATE.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    env = make_env()
    golden_dir = os.path.join(DATA, "golden")
    os.makedirs(golden_dir, exist_ok=True)
    conv_dir = os.path.join(DATA, "conversations")
    conversations = sorted(f[:-5] for f in os.listdir(conv_dir) if f.endswith(".json"))
    templates = sorted(f[:-6] for f in os.listdir(DATA) if f.endswith(".jinja"))
    cases = []
    for stem in templates:
        if stem not in SPECIAL_TOKENS:
            sys.exit(f"no special tokens listed for {stem}")
        with open(os.path.join(DATA, stem + ".jinja"), encoding="utf-8") as f:
            source = f.read()
        template = env.from_string(source)
        bos, eos = SPECIAL_TOKENS[stem]
        thinking = [None, True, False] if "enable_thinking" in source else [None]
        os.makedirs(os.path.join(golden_dir, stem), exist_ok=True)
        for conv in conversations:
            with open(os.path.join(conv_dir, conv + ".json"), encoding="utf-8") as f:
                doc = json.load(f)
            for gen in (False, True):
                for think in thinking:
                    variables = {
                        "messages": doc["messages"],
                        "tools": doc.get("tools"),
                        "documents": None,
                        "add_generation_prompt": gen,
                        "bos_token": bos,
                        "eos_token": eos,
                    }
                    name = conv + (".gen" if gen else ".nogen")
                    if think is not None:
                        variables["enable_thinking"] = think
                        name += ".think" if think else ".nothink"
                    case = {
                        "template": stem + ".jinja",
                        "conversation": conv + ".json",
                        "add_generation_prompt": gen,
                        "bos_token": bos,
                        "eos_token": eos,
                    }
                    if think is not None:
                        case["enable_thinking"] = think
                    try:
                        out = template.render(**variables)
                        path = os.path.join(stem, name + ".txt")
                        with open(os.path.join(golden_dir, path), "w", encoding="utf-8",
                                  newline="") as f:
                            f.write(out)
                        case["expected"] = path
                    except Exception as e:  # the template refused: Tern must refuse too
                        case["error"] = f"{type(e).__name__}: {e}"
                    cases.append(case)
    with open(os.path.join(golden_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/gen-template-goldens.py",
                   "jinja2": jinja2.__version__,
                   "strftime_now_date": FIXED_DATE.strftime("%Y-%m-%d"),
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_err = sum(1 for c in cases if "error" in c)
    print(f"{len(cases)} cases ({n_err} expected errors) in {golden_dir}")


def constructs():
    env = make_env()
    src = os.path.join(ROOT, "tests", "data", "jinja", "constructs.src.json")
    with open(src, encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for case in cases:
        result = {"group": case["group"], "template": case["t"], "vars": case["v"]}
        try:
            result["expected"] = env.from_string(case["t"]).render(**case["v"])
            if case.get("error"):
                sys.exit(f"expected an error, Jinja2 rendered: {case['t']!r}")
        except Exception as e:
            if not case.get("error"):
                sys.exit(f"Jinja2 refused {case['t']!r}: {e}")
            result["error"] = f"{type(e).__name__}: {e}"
        out.append(result)
    with open(os.path.join(ROOT, "tests", "data", "jinja", "constructs.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/gen-template-goldens.py", "jinja2": jinja2.__version__,
                   "strftime_now_date": FIXED_DATE.strftime("%Y-%m-%d"), "cases": out},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out)} construct cases")


if __name__ == "__main__":
    main()
    constructs()
