#!/usr/bin/env python3
"""Writes the hand-made seeds of corpus/gguf/ (tokenizer-v3.gguf: every
metadata type, a tokenizer, no tensors; aligned64-v2.gguf: a v2 file with
general.alignment 64 and f32 + q8_0 tensors). The other seeds there were made
with `tern make-model` (tiny shapes), by:
  tern make-model --arch llama --layers 1 --hidden 32 --heads 2 --ffn 32 --vocab 32 --type q8_0 -o llama-q8_0.gguf
  tern make-model --arch qwen2 --layers 1 --hidden 32 --heads 2 --kv-heads 1 --ffn 32 --vocab 16 --type f16 -o qwen2-f16.gguf
  tern make-model --arch qwen3 --layers 1 --hidden 32 --heads 2 --kv-heads 1 --head-dim 32 --ffn 32 --vocab 8 \
      --type q8_0 --untied -o qwen3-q8_0.gguf
 GGUF layout: little-endian, "GGUF", u32
version, u64 n_tensors, u64 n_kv, key/values, tensor infos, padding, data."""
import struct, pathlib

here = pathlib.Path(__file__).parent / 'corpus' / 'gguf'

def s(text):
    b = text.encode()
    return struct.pack('<Q', len(b)) + b

def kv(key, type_id, payload):
    return s(key) + struct.pack('<I', type_id) + payload

def arr(elem_type, items):
    return struct.pack('<IQ', elem_type, len(items)) + b''.join(items)

def gguf(version, kvs, tensors, data, align=32):
    head = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs)) + b''.join(kvs)
    for name, ne, type_id, off in tensors:
        head += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
        head += struct.pack('<IQ', type_id, off)
    head += b'\0' * (-len(head) % align)
    return head + data

tokens = ['<unk>', '<s>', '</s>', 'a', 'b', 'ab', '\u2581the', '<0x0A>']
tokenizer = [
    kv('general.architecture', 8, s('llama')),
    kv('tokenizer.ggml.model', 8, s('llama')),
    kv('tokenizer.ggml.tokens', 9, arr(8, [s(t) for t in tokens])),
    kv('tokenizer.ggml.scores', 9, arr(6, [struct.pack('<f', -i) for i in range(len(tokens))])),
    kv('tokenizer.ggml.token_type', 9, arr(5, [struct.pack('<i', 1) for _ in tokens])),
    kv('tokenizer.ggml.merges', 9, arr(8, [s('a b')])),
    kv('tokenizer.ggml.bos_token_id', 4, struct.pack('<I', 1)),
    kv('tokenizer.ggml.add_bos_token', 7, b'\x01'),
    kv('t.i8', 1, struct.pack('<b', -3)),
    kv('t.u16', 2, struct.pack('<H', 7)),
    kv('t.i16', 3, struct.pack('<h', -7)),
    kv('t.u64', 10, struct.pack('<Q', 2**40)),
    kv('t.i64', 11, struct.pack('<q', -2**40)),
    kv('t.f64', 12, struct.pack('<d', 0.5)),
    kv('t.u8s', 9, arr(0, [b'\x01', b'\x02'])),
    kv('t.bools', 9, arr(7, [b'\x00', b'\x01'])),
]
(here / 'tokenizer-v3.gguf').write_bytes(gguf(3, tokenizer, [], b''))

data = struct.pack('<8f', *range(8)) + b'\0' * 32 + bytes(34)
tensors = [('w', [8], 0, 0), ('q', [32], 8, 64)]
kvs = [kv('general.alignment', 4, struct.pack('<I', 64)), kv('general.architecture', 8, s('llama'))]
(here / 'aligned64-v2.gguf').write_bytes(gguf(2, kvs, tensors, data, align=64))
