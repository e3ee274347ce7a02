"""ONNX export and import through the core's own codec (no protobuf or onnx package needed).

    engine.onnx.export(model, "model.onnx")     # the inference graph
    model = engine.onnx.load("model.onnx")      # a trainable engine.Model
"""
from engine.onnx._export import export
from engine.onnx._import import OnnxGraph, load

__all__ = ["OnnxGraph", "export", "load"]
