"""The book's Wide & Deep regression network: two inputs, a concatenation and an auxiliary
output, trained with loss weights (synthetic housing-like data, so it runs anywhere).

    python examples/wide_and_deep.py [--epochs N]
"""
import argparse

import numpy as np

import engine
from engine import layers as L


def make_data(rng, n):
    x = rng.standard_normal((n, 8)).astype(np.float32)
    # A target with a linear ("wide") part and a nonlinear ("deep") part.
    y = (0.8 * x[:, 0] - 0.5 * x[:, 1] + np.sin(2 * x[:, 3]) * x[:, 4] + 0.3 * x[:, 6] ** 2
         + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return x[:, :5], x[:, 2:], y.reshape(-1, 1)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    engine.set_seed(42)
    rng = np.random.default_rng(0)
    train, valid, test = make_data(rng, 4000), make_data(rng, 1000), make_data(rng, 1000)

    input_wide = engine.Input((5,), name="wide_input")
    input_deep = engine.Input((6,), name="deep_input")
    hidden1 = L.Dense(30, activation="relu")(input_deep)
    hidden2 = L.Dense(30, activation="relu")(hidden1)
    concat = L.Concatenate()([input_wide, hidden2])
    output = L.Dense(1, name="main_output")(concat)
    aux_output = L.Dense(1, name="aux_output")(hidden2)
    model = engine.Model(inputs=[input_wide, input_deep], outputs=[output, aux_output])

    model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1],
                  optimizer=engine.optimizers.Adam(learning_rate=1e-3), metrics=["RootMeanSquaredError"])
    model.fit((train[0], train[1]), (train[2], train[2]), epochs=args.epochs,
              validation_data=((valid[0], valid[1]), (valid[2], valid[2])), verbose=2)
    results = model.evaluate((test[0], test[1]), (test[2], test[2]), return_dict=True, verbose=0)
    print("test:", {k: round(v, 4) for k, v in results.items()})
    y_pred_main, y_pred_aux = model.predict((test[0][:3], test[1][:3]))
    print("predictions:", y_pred_main.ravel(), "targets:", test[2][:3].ravel())
    return results


if __name__ == "__main__":
    main()
