"""Running the models: packs, ONNX Runtime sessions, graph rewrites and int8 quantization."""
