// Preloaded into a model host (NODE_OPTIONS=--require …/bench/ort-verbose.js) by bench/gpu.ts and
// scripts/gpu-fixtures.ts: transformers.js then creates every onnxruntime session with the verbose log level, so
// onnxruntime prints where it placed each node ("Node placements", session_state.cc) on the host's stderr.
// Diagnostics only: the timed runs use a host without it.
const tf = require('@huggingface/transformers');
tf.env.logLevel = tf.LogLevel.DEBUG;
