#!/usr/bin/env python3
"""Independent reference logits for a tiny F32 GGUF model, from Hugging Face
transformers (run where torch and transformers are installed, e.g. the GPU
machine). Used for architectures ../shared/reference has no llama.cpp output
for (qwen3).

  hf-reference.py IN.gguf OUT.gguf OUT.json

Reads IN.gguf (F32 tensors only), replaces every norm weight (all ones in
`tern make-model` output) with seeded random values so a misapplied norm
shows, writes that model to OUT.gguf (same layout, values patched in place),
builds the matching transformers model, runs a fixed token sequence and writes
the logits of every position to OUT.json.
"""
import json
import struct
import sys

import numpy as np
import torch

GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf(data):
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(GGUF_SCALARS[t])

    assert data[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    assert version in (2, 3)
    kv = {}
    for _ in range(n_kv):
        key = string()
        kv[key] = value(take("I"))
    tensors = {}
    for _ in range(n_tensors):
        name = string()
        n_dims = take("I")
        ne = [take("Q") for _ in range(n_dims)]
        ttype, offset = take("I"), take("Q")
        assert ttype == 0, f"{name}: only F32 tensors are supported here"
        tensors[name] = (ne, offset)
    align = kv.get("general.alignment", 32)
    data_start = (pos + align - 1) // align * align
    return kv, tensors, data_start


def main():
    src, dst, out_json = sys.argv[1:4]
    data = bytearray(open(src, "rb").read())
    kv, tensors, data_start = read_gguf(bytes(data))
    arch = kv["general.architecture"]
    assert arch == "qwen3", "this script builds qwen3 models"
    rng = np.random.default_rng(1234)

    def array(name):
        ne, off = tensors[name]
        n = int(np.prod(ne))
        a = np.frombuffer(bytes(data[data_start + off:data_start + off + 4 * n]), dtype="<f4").copy()
        # ggml order: ne[0] is the row, so numpy shape is reversed.
        return a.reshape(list(reversed(ne)))

    for name in list(tensors):
        if "norm" in name:
            ne, off = tensors[name]
            vals = (1.0 + 0.5 * rng.standard_normal(int(np.prod(ne)))).astype("<f4")
            data[data_start + off:data_start + off + vals.nbytes] = vals.tobytes()
    open(dst, "wb").write(bytes(data))

    from transformers import Qwen3Config, Qwen3ForCausalLM

    p = arch + "."
    n_vocab = tensors["token_embd.weight"][0][1]
    cfg = Qwen3Config(
        vocab_size=n_vocab,
        hidden_size=kv[p + "embedding_length"],
        intermediate_size=kv[p + "feed_forward_length"],
        num_hidden_layers=kv[p + "block_count"],
        num_attention_heads=kv[p + "attention.head_count"],
        num_key_value_heads=kv[p + "attention.head_count_kv"],
        head_dim=kv[p + "attention.key_length"],
        rms_norm_eps=kv[p + "attention.layer_norm_rms_epsilon"],
        rope_theta=kv[p + "rope.freq_base"],
        max_position_embeddings=kv[p + "context_length"],
        tie_word_embeddings="output.weight" not in tensors,
        attention_bias=False,
        torch_dtype=torch.float32,
    )
    model = Qwen3ForCausalLM(cfg).eval()
    sd = {"model.embed_tokens.weight": array("token_embd.weight"), "model.norm.weight": array("output_norm.weight")}
    if "output.weight" in tensors:
        sd["lm_head.weight"] = array("output.weight")
    names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    for i in range(cfg.num_hidden_layers):
        for g, h in names.items():
            sd[f"model.layers.{i}.{h}.weight"] = array(f"blk.{i}.{g}.weight")
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    missing = [m for m in missing if m != "lm_head.weight"]
    assert not missing and not unexpected, (missing, unexpected)

    tokens = [1, 17, 300, 42, 99, 5, 250, 7, 7, 511, 0, 128]
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].double().numpy()
    json.dump({
        "about": "Logits of every position from Hugging Face transformers' Qwen3ForCausalLM (float32) over the "
                 "weights of the GGUF file named below; produced by scripts/hf-reference.py",
        "model_file": dst.split("/")[-1],
        "transformers_version": __import__("transformers").__version__,
        "torch_version": torch.__version__,
        "tokens": tokens,
        "logits": [[round(float(x), 7) for x in row] for row in logits],
    }, open(out_json, "w"), indent=None)
    print("wrote", dst, out_json, "logit range", float(logits.min()), float(logits.max()))


if __name__ == "__main__":
    main()
