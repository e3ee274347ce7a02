"""A U-Net-like segmenter of generated 1x32x32 images, trained a few epochs, exported to ONNX
and checked against onnxruntime (when it is installed).

The task: each image holds one to three bright rectangles on a noisy background; the target
is the per-pixel mask of the rectangles. The model is a small U-Net on NCHW tensors: Conv2D
layers downsample (strides 2), a Conv2DTranspose and an UpSampling2D upsample back, and
Concatenate joins each upsampled map with the encoder map of the same size (the skip
connections); a 1x1 Conv2D gives a per-pixel sigmoid.

    python examples/unet_segmenter.py [--epochs N] [--samples N] [--out DIR]
"""
import argparse
import tempfile

import numpy as np

import engine
from engine import layers as L
from onnx_check import check_onnx  # (examples/onnx_check.py)

SIZE = 32


def rectangles(rng, n):
    """Images [n, 1, 32, 32] and their float masks [n, 1, 32, 32]."""
    masks = np.zeros((n, 1, SIZE, SIZE), np.float32)
    for mask in masks:
        for _ in range(rng.integers(1, 4)):
            top, left = rng.integers(0, SIZE - 6, 2)
            height, width = rng.integers(4, 13, 2)
            mask[0, top:top + height, left:left + width] = 1.0
    images = masks * 1.0 + rng.standard_normal(masks.shape).astype(np.float32) * 0.4
    return images.astype(np.float32), masks


def unet():
    image = engine.Input((1, SIZE, SIZE))
    full = L.Conv2D(8, 3, padding="same", activation="relu")(image)                   # 8 x 32 x 32
    half = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(full)        # 16 x 16 x 16
    quarter = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(half)     # 32 x 8 x 8
    up = L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(quarter)  # 16 x 16 x 16
    up = L.Conv2D(16, 3, padding="same", activation="relu")(L.Concatenate(axis=1)([up, half]))
    up = L.UpSampling2D(2)(up)                                                         # 16 x 32 x 32
    up = L.Conv2D(8, 3, padding="same", activation="relu")(L.Concatenate(axis=1)([up, full]))
    mask = L.Conv2D(1, 1, activation="sigmoid")(up)
    return engine.Model(image, mask, name="unet_segmenter")


def iou(predicted, masks):
    """Intersection over union of the thresholded predictions and the masks, over the set."""
    predicted = predicted > 0.5
    truth = masks > 0.5
    return float((predicted & truth).sum() / max((predicted | truth).sum(), 1))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--out", default=None, help="folder for the ONNX file (default: a temporary one)")
    args = parser.parse_args(argv)
    engine.set_seed(42)
    rng = np.random.default_rng(0)
    x, y = rectangles(rng, args.samples)
    x_test, y_test = rectangles(rng, 100)
    model = unet()
    model.compile(loss="binary_crossentropy", optimizer=engine.optimizers.Adam(learning_rate=3e-3),
                  metrics=["binary_accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=args.epochs, validation_split=0.1, verbose=0)
    test_iou = iou(model.predict(x_test, verbose=0), y_test)
    difference = check_onnx(model, x_test[:32], args.out or tempfile.mkdtemp(prefix="engine-examples-"))
    final = {k: round(v[-1], 4) for k, v in history.history.items()}
    print(f"{model.name}: {final}, test IoU {test_iou:.3f}, max |engine - onnxruntime| = {difference}")
    return {"history": history.history, "test_iou": test_iou, "onnxruntime_difference": difference}


if __name__ == "__main__":
    main()
