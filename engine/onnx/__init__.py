"""ONNX export and import through the core's own codec (no protobuf or onnx package needed).

    engine.onnx.export(model, "model.onnx")     # the inference graph
    model = engine.onnx.load("model.onnx")      # a trainable engine.Model
    session = engine.onnx.InferenceSession("model.onnx")  # onnxruntime's API, any shapes
"""
from engine.onnx._export import export
from engine.onnx._import import OnnxGraph, load
from engine.onnx._session import InferenceSession, NodeArg

__all__ = ["InferenceSession", "NodeArg", "OnnxGraph", "export", "load"]
